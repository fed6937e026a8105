import { describe, expect, it } from "vitest";
import { GATED_KINDS } from "../../../src/api/v1alpha1/index.js";
import { matchScopeOf, policyMatches } from "../../../src/policy/index.js";
import { deployment, gateRequest, policy } from "./fixtures.js";

const request = gateRequest(deployment({ labels: { app: "web", tier: "front" } }));

function matchesWith(spec: Record<string, unknown>, overrides: Parameters<typeof gateRequest>[1] = {}): boolean {
  return policyMatches(policy(spec), { ...request, ...overrides });
}

describe("policyMatches", () => {
  it("matches on kind: a listed kind, another pod-carrying kind through a side door, never an ungated kind", () => {
    expect(matchesWith({ match: { kinds: ["Deployment"] } })).toBe(true);
    expect(matchesWith({ match: { kinds: ["StatefulSet", "DaemonSet"] } })).toBe(true);
    const configMap = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "prod" } };
    expect(policyMatches(policy({ match: { kinds: ["Deployment"] } }), gateRequest(configMap))).toBe(false);
    expect(policyMatches(policy({ match: { kinds: [...GATED_KINDS] } }), gateRequest(configMap))).toBe(false);
  });

  it("says how a policy reaches each kind", () => {
    const deployments = policy({ match: { kinds: ["Deployment"] } });
    expect(matchScopeOf(deployments, "Deployment")).toBe("listed");
    for (const kind of GATED_KINDS.filter((gated) => gated !== "Deployment"))
      expect(matchScopeOf(deployments, kind), kind).toBe("sideDoor");
    expect(matchScopeOf(deployments, "ConfigMap")).toBeUndefined();
    expect(matchScopeOf(deployments, "Service")).toBeUndefined();
  });

  it("matches namespaces by exact name; an empty list means all", () => {
    expect(matchesWith({ match: { kinds: ["Deployment"], namespaces: ["prod"] } })).toBe(true);
    expect(matchesWith({ match: { kinds: ["Deployment"], namespaces: ["prod-eu"] } })).toBe(false);
    expect(matchesWith({ match: { kinds: ["Deployment"], namespaces: [] } })).toBe(true);
  });

  it("matches namespaceSelector against the Namespace's labels", () => {
    const spec = { match: { kinds: ["Deployment"], namespaceSelector: { matchLabels: { env: "prod" } } } };
    expect(matchesWith(spec)).toBe(true);
    expect(matchesWith(spec, { namespaceLabels: { env: "dev" } })).toBe(false);
    expect(matchesWith(spec, { namespaceLabels: {} })).toBe(false);
  });

  it("matches objectSelector against the object's labels, not the pod template's", () => {
    const tier = (value: string): Record<string, unknown> => ({
      match: {
        kinds: ["Deployment"],
        objectSelector: { matchExpressions: [{ key: "tier", operator: "In", values: [value] }] },
      },
    });
    expect(matchesWith(tier("front"))).toBe(true);
    expect(matchesWith(tier("back"))).toBe(false);
    expect(matchesWith({ match: { kinds: ["Deployment"], objectSelector: { matchLabels: { app: "web-pod" } } } })).toBe(
      false,
    );
  });

  it("excludes namespaces, users and groups", () => {
    const excluding = (exclude: Record<string, unknown>): boolean =>
      matchesWith({ match: { kinds: ["Deployment"] }, exclude });
    expect(excluding({ namespaces: ["prod"] })).toBe(false);
    expect(excluding({ users: ["dev"] })).toBe(false);
    expect(excluding({ groups: ["developers"] })).toBe(false);
    expect(excluding({ namespaces: ["dev"], users: ["ci"], groups: ["ops"] })).toBe(true);
  });

  it("combines every condition", () => {
    const spec = {
      match: {
        kinds: ["Deployment"],
        namespaces: ["prod"],
        namespaceSelector: { matchLabels: { env: "prod" } },
        objectSelector: { matchLabels: { app: "web" } },
      },
      exclude: { users: ["system:serviceaccount:argocd:argocd-application-controller"] },
    };
    expect(matchesWith(spec)).toBe(true);
    expect(
      matchesWith(spec, {
        user: { username: "system:serviceaccount:argocd:argocd-application-controller", groups: [] },
      }),
    ).toBe(false);
    expect(matchesWith(spec, { namespace: "staging" })).toBe(false);
  });

  it("matches a Pod whatever ownerReferences it claims", () => {
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "prod" }, spec: { containers: [] } };
    const owned = {
      ...pod,
      metadata: { ...pod.metadata, ownerReferences: [{ kind: "ReplicaSet", name: "web-1", controller: true }] },
    };
    for (const kinds of [["Pod"], ["Deployment"]]) {
      expect(policyMatches(policy({ match: { kinds } }), gateRequest(pod)), kinds[0]).toBe(true);
      expect(policyMatches(policy({ match: { kinds } }), gateRequest(owned)), kinds[0]).toBe(true);
    }
    const other = { match: { kinds: ["Pod"], namespaces: ["dev"] } };
    expect(policyMatches(policy(other), gateRequest(owned))).toBe(false);
  });
});
