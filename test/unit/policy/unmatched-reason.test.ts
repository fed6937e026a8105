import { describe, expect, it } from "vitest";
import { policyMatches, policyMismatch, unmatchedReason } from "../../../src/policy/index.js";
import { deployment, gateRequest, policy } from "./fixtures.js";

const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "p", namespace: "prod" }, spec: { containers: [] } };
const ownedPod = {
  ...pod,
  metadata: { ...pod.metadata, ownerReferences: [{ kind: "ReplicaSet", name: "web-1", controller: true }] },
};
const configMap = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x", namespace: "prod" } };

describe("policyMismatch", () => {
  it("agrees with policyMatches and names the condition that failed", () => {
    const cases: [Record<string, unknown>, Record<string, unknown>, string | undefined][] = [
      [{ match: { kinds: ["Deployment"] } }, deployment(), undefined],
      [{ match: { kinds: ["StatefulSet"] } }, deployment(), undefined],
      [{ match: { kinds: ["StatefulSet"] } }, configMap, "kind"],
      [{ match: { kinds: ["Pod"] } }, ownedPod, undefined],
      [{ match: { kinds: ["Deployment"] } }, ownedPod, undefined],
      [{ match: { kinds: ["Pod"], namespaces: ["dev"] } }, ownedPod, "namespaces"],
      [{ match: { kinds: ["Deployment"], namespaces: ["dev"] } }, deployment(), "namespaces"],
      [
        { match: { kinds: ["Deployment"], namespaceSelector: { matchLabels: { env: "dev" } } } },
        deployment(),
        "namespaceSelector",
      ],
      [
        { match: { kinds: ["Deployment"], objectSelector: { matchLabels: { tier: "x" } } } },
        deployment(),
        "objectSelector",
      ],
      [{ match: { kinds: ["Deployment"] }, exclude: { namespaces: ["prod"] } }, deployment(), "excludeNamespaces"],
      [{ match: { kinds: ["Deployment"] }, exclude: { users: ["dev"] } }, deployment(), "excludeUsers"],
      [{ match: { kinds: ["Deployment"] }, exclude: { groups: ["developers"] } }, deployment(), "excludeGroups"],
    ];
    for (const [spec, object, cause] of cases) {
      const request = gateRequest(object);
      expect(policyMismatch(policy(spec), request)?.cause).toBe(cause);
      expect(policyMatches(policy(spec), request)).toBe(cause === undefined);
    }
  });
});

describe("unmatchedReason", () => {
  it("is undefined when any policy matches, by a listed kind or through a side door", () => {
    const other = policy({ match: { kinds: ["Deployment"], namespaces: ["dev"] } }, "a");
    expect(unmatchedReason([other, policy({ match: { kinds: ["Deployment"] } }, "b")], gateRequest(deployment()))).toBe(
      undefined,
    );
    expect(unmatchedReason([other, policy({ match: { kinds: ["Pod"] } }, "b")], gateRequest(deployment()))).toBe(
      undefined,
    );
    expect(unmatchedReason([policy({ match: { kinds: ["Deployment"] } })], gateRequest(pod))).toBeUndefined();
  });

  it("says no policy matches a kind AEGIS never gates", () => {
    const policies = [policy({ match: { kinds: ["Deployment"] } })];
    expect(unmatchedReason(policies, gateRequest(configMap))).toBe(
      "no policy matches kind ConfigMap (AEGIS gates only Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod)",
    );
  });

  it("evaluates a Pod with a controller ownerReference like any other Pod", () => {
    const policies = [policy({ match: { kinds: ["Deployment"] } }, "a"), policy({ match: { kinds: ["Pod"] } }, "b")];
    expect(unmatchedReason(policies, gateRequest(ownedPod))).toBeUndefined();
    const elsewhere = [policy({ match: { kinds: ["Pod"], namespaces: ["dev"] } }, "a")];
    expect(unmatchedReason(elsewhere, gateRequest(ownedPod))).toBe("namespace prod is not in match.namespaces [dev]");
  });

  it("names each policy that reaches the kind, listed or through a side door, when their reasons differ", () => {
    const policies = [
      policy({ match: { kinds: ["Deployment"], namespaces: ["dev"] } }, "a"),
      policy({ match: { kinds: ["Deployment"] }, exclude: { users: ["dev"] } }, "b"),
      policy({ match: { kinds: ["Pod"] }, exclude: { namespaces: ["prod"] } }, "c"),
    ];
    expect(unmatchedReason(policies, gateRequest(deployment()))).toBe(
      "policy a: namespace prod is not in match.namespaces [dev]; policy b: user dev is in exclude.users; policy c: namespace prod is in exclude.namespaces",
    );
  });
});
