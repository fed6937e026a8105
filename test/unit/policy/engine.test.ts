import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GATED_KINDS } from "../../../src/api/v1alpha1/index.js";
import { evaluate, formatViolation, type CompiledPolicy, type GateRequest } from "../../../src/policy/index.js";
import {
  DESIGN_POLICY_SPEC,
  compliantContainer,
  deployment,
  gateRequest,
  policy,
  policyWithChecks,
} from "./fixtures.js";

const designPolicy = policy(DESIGN_POLICY_SPEC);

describe("evaluate with the DESIGN §2 example policy", () => {
  it("admits a compliant Deployment with no violations", () => {
    const result = evaluate([designPolicy], gateRequest(deployment()));
    expect(result.matched).toHaveLength(1);
    expect(result.matched[0]).toMatchObject({
      policy: "prod-gate",
      enforcement: "Enforce",
      violations: [],
      specHash: designPolicy.specHash,
    });
    expect(result.matched[0]?.approval?.mode).toBe("Always");
    expect(result.denied).toEqual([]);
    expect(result.warnings).toEqual([]);
  });

  it("lists every violated check of a non-compliant Deployment", () => {
    const object = deployment({
      labels: { team: "payments" },
      replicas: 12,
      containers: [{ name: "web", image: "nginx:latest" }],
    });
    const result = evaluate([designPolicy], gateRequest(object));
    expect(new Set(result.denied.map((violation) => violation.check))).toEqual(
      new Set(["pod-security", "trusted-registries", "pinned", "no-latest", "resources", "owner", "replicas"]),
    );
    expect(result.denied.every((violation) => violation.policy === "prod-gate")).toBe(true);
    expect(result.denied.map(formatViolation)).toContain("prod-gate/replicas: at most 10 replicas");
    expect(result.denied.map(formatViolation)).toContain(
      'prod-gate/owner: Deployment has no label "app.kubernetes.io/name" in metadata.labels',
    );
  });

  it("does not match another namespace or a kind that carries no pods", () => {
    expect(evaluate([designPolicy], gateRequest(deployment(), { namespace: "dev" })).matched).toEqual([]);
    const configMap = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "prod" }, data: {} };
    expect(evaluate([designPolicy], gateRequest(configMap)).matched).toEqual([]);
  });

  it("evaluates a Job it does not list through a side door, with its pod-template checks only", () => {
    const job = {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "j", namespace: "prod" },
      spec: { template: { spec: { containers: [{ name: "web", image: "nginx:latest" }] } } },
    };
    const result = evaluate([designPolicy], gateRequest(job));
    expect(result.matched.map((verdict) => [verdict.policy, verdict.scope])).toEqual([["prod-gate", "sideDoor"]]);
    expect(result.matched[0]?.approval?.mode).toBe("Always");
    expect(new Set(result.denied.map((violation) => violation.check))).toEqual(
      new Set(["pod-security", "trusted-registries", "pinned", "no-latest", "resources"]),
    );
  });
});

describe("evaluate: side doors", () => {
  const deploymentsOnly = policy(
    {
      enforcement: "Enforce",
      match: { kinds: ["Deployment"] },
      checks: [
        { name: "trusted-registries", allowedRegistries: ["ghcr.io/acme/"] },
        { name: "named-web", cel: "object.metadata.name == 'web'", message: "must be named web" },
      ],
    },
    "deployments-only",
  );
  const untrusted = [{ name: "c", image: "docker.io/library/nginx:1" }];

  it("applies only the pod-template checks to a bare Pod, scope sideDoor", () => {
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "not-web", namespace: "prod" },
      spec: { containers: untrusted },
    };
    const result = evaluate([deploymentsOnly], gateRequest(pod));
    expect(result.matched).toHaveLength(1);
    expect(result.matched[0]?.scope).toBe("sideDoor");
    expect(result.denied.map((violation) => violation.check)).toEqual(["trusted-registries"]);
  });

  it("a Pod created directly is evaluated whatever controller ownerReference it claims", () => {
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: "web-1-abc",
        namespace: "prod",
        ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: "web-1", uid: "u", controller: true }],
      },
      spec: { containers: untrusted },
    };
    const result = evaluate([deploymentsOnly], gateRequest(pod));
    expect(result.matched.map((verdict) => verdict.scope)).toEqual(["sideDoor"]);
    expect(result.denied.map((violation) => violation.check)).toEqual(["trusted-registries"]);
  });

  it("applies every check to a Deployment, scope listed", () => {
    const result = evaluate([deploymentsOnly], gateRequest(deployment({ name: "not-web", containers: untrusted })));
    expect(result.matched).toHaveLength(1);
    expect(result.matched[0]?.scope).toBe("listed");
    expect(result.denied.map(formatViolation)).toEqual([
      expect.stringMatching(/^deployments-only\/trusted-registries: /),
      "deployments-only/named-web: must be named web",
    ]);
  });

  it("admits a compliant Pod through the side door although the CEL check would refuse its name", () => {
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "not-web", namespace: "prod" },
      spec: { containers: [compliantContainer()] },
    };
    const result = evaluate([deploymentsOnly], gateRequest(pod));
    expect(result.matched.map((verdict) => [verdict.scope, verdict.violations])).toEqual([["sideDoor", []]]);
    expect(
      evaluate([deploymentsOnly], gateRequest(deployment({ name: "not-web" }))).denied.map(formatViolation),
    ).toEqual(["deployments-only/named-web: must be named web"]);
    expect(evaluate([deploymentsOnly], gateRequest(deployment())).denied).toEqual([]);
  });
});

describe("evaluate: enforcement", () => {
  const latest = [{ name: "no-latest", disallowLatestTag: true }];
  const object = deployment({ containers: [compliantContainer("web", "nginx")] });

  it("Enforce violations deny, Audit violations warn", () => {
    const enforce = policy({ enforcement: "Enforce", match: { kinds: ["Deployment"] }, checks: latest }, "enforcing");
    const audit = policy({ enforcement: "Audit", match: { kinds: ["Deployment"] }, checks: latest }, "auditing");
    const result = evaluate([enforce, audit], gateRequest(object));
    expect(result.matched.map((verdict) => [verdict.policy, verdict.enforcement, verdict.violations.length])).toEqual([
      ["enforcing", "Enforce", 1],
      ["auditing", "Audit", 1],
    ]);
    expect(result.denied.map((violation) => violation.policy)).toEqual(["enforcing"]);
    expect(result.warnings.map((violation) => violation.policy)).toEqual(["auditing"]);
  });

  it("an Audit-only violation does not deny", () => {
    const result = evaluate([policyWithChecks(latest, "Audit")], gateRequest(object));
    expect(result.denied).toEqual([]);
    expect(result.warnings).toHaveLength(1);
  });

  it("lists a matched policy without violations (its approval settings still apply)", () => {
    const result = evaluate([policyWithChecks([], "Enforce")], gateRequest(object));
    expect(result.matched).toHaveLength(1);
    expect(result.matched[0]?.violations).toEqual([]);
  });
});

describe("evaluate: robustness", () => {
  it("turns a check that throws into a violation", () => {
    const base = policyWithChecks([]);
    const broken: CompiledPolicy = {
      ...base,
      checks: [
        {
          name: "boom",
          field: "cel",
          run: () => {
            throw new Error("kaput");
          },
        },
      ],
    };
    expect(evaluate([broken], gateRequest(deployment())).denied).toEqual([
      { policy: "prod-gate", check: "boom", rule: "checkError", message: "check could not be evaluated: kaput" },
    ]);
  });

  it("formats violations as policy/check: message", () => {
    expect(formatViolation({ policy: "p", check: "c", rule: "r", message: "m" })).toBe("p/c: m");
  });

  it("never throws on random objects (property)", () => {
    const allChecks = policy({
      enforcement: "Enforce",
      match: { kinds: [...GATED_KINDS] },
      checks: [
        { name: "psa", podSecurity: { level: "restricted" } },
        { name: "reg", allowedRegistries: ["ghcr.io/"] },
        { name: "digest", requireImageDigest: true },
        { name: "latest", disallowLatestTag: true },
        { name: "res", requireResources: { requests: ["cpu"], limits: ["memory"] } },
        { name: "labels", requiredLabels: ["team"] },
        { name: "cel", cel: "object.spec.template.spec.containers.all(c, c.image != '')" },
        { name: "cel-old", cel: "oldObject == null || oldObject.spec == object.spec" },
      ],
    });
    const container = fc.record(
      {
        name: fc.oneof(fc.string(), fc.integer()),
        image: fc.oneof(fc.string(), fc.constant(null)),
        resources: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    const podSpec = fc.record(
      {
        containers: fc.oneof(fc.array(container), fc.jsonValue()),
        hostNetwork: fc.jsonValue(),
        securityContext: fc.jsonValue(),
      },
      { requiredKeys: [] },
    );
    const object = fc.oneof(
      fc.dictionary(fc.string(), fc.jsonValue()),
      fc.record(
        {
          metadata: fc.jsonValue(),
          spec: fc.record(
            { replicas: fc.jsonValue(), template: fc.record({ metadata: fc.jsonValue(), spec: podSpec }) },
            { requiredKeys: [] },
          ),
        },
        { requiredKeys: [] },
      ),
    ) as fc.Arbitrary<Record<string, unknown>>;
    fc.assert(
      fc.property(
        fc.constantFrom(...GATED_KINDS, "ConfigMap"),
        object,
        fc.option(object),
        (kind, newObject, oldObject) => {
          const request: GateRequest = {
            ...gateRequest(newObject),
            kind,
            oldObject,
            operation: oldObject === null ? "CREATE" : "UPDATE",
          };
          const result = evaluate([allChecks], request);
          expect(result.denied.length + result.warnings.length).toBeGreaterThanOrEqual(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
