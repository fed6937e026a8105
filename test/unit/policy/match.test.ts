import { describe, expect, it } from "vitest";
import { policyMatches } from "../../../src/policy/index.js";
import { deployment, gateRequest, policy } from "./fixtures.js";

const request = gateRequest(deployment({ labels: { app: "web", tier: "front" } }));

function matchesWith(spec: Record<string, unknown>, overrides: Parameters<typeof gateRequest>[1] = {}): boolean {
  return policyMatches(policy(spec), { ...request, ...overrides });
}

describe("policyMatches", () => {
  it("matches on kind", () => {
    expect(matchesWith({ match: { kinds: ["Deployment"] } })).toBe(true);
    expect(matchesWith({ match: { kinds: ["StatefulSet", "DaemonSet"] } })).toBe(false);
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

  it("matches bare pods only", () => {
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "prod" }, spec: { containers: [] } };
    const spec = { match: { kinds: ["Pod"] } };
    expect(policyMatches(policy(spec), gateRequest(pod))).toBe(true);
    const owned = {
      ...pod,
      metadata: { ...pod.metadata, ownerReferences: [{ kind: "ReplicaSet", name: "web-1", controller: true }] },
    };
    expect(policyMatches(policy(spec), gateRequest(owned))).toBe(false);
  });
});
