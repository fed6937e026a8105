import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { evaluate, policyMatches, type CompiledPolicy } from "../../../src/policy/index.js";
import { policyIndexOf } from "../../../src/policy/policy-index.js";
import { deployment, gateRequest, policy } from "./fixtures.js";

const NAMESPACES = ["prod", "staging", "payments", "search", "kube-system"];
const LABEL_KEYS = ["env", "team", "tier"];
const LABEL_VALUES = ["prod", "staging", "payments", "search", "gold"];

const labels = fc.dictionary(fc.constantFrom(...LABEL_KEYS), fc.constantFrom(...LABEL_VALUES), { maxKeys: 3 });
const expression = fc.record({
  key: fc.constantFrom(...LABEL_KEYS),
  operator: fc.constantFrom("In", "NotIn", "Exists", "DoesNotExist"),
  values: fc.uniqueArray(fc.constantFrom(...LABEL_VALUES), { minLength: 1, maxLength: 3 }),
});
const selector = fc.option(
  fc.record(
    {
      matchLabels: labels,
      matchExpressions: fc
        .array(expression, { maxLength: 2 })
        .map((expressions) =>
          expressions.map((e) => (e.operator === "Exists" || e.operator === "DoesNotExist" ? { ...e, values: [] } : e)),
        ),
    },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);
const policySpec = fc.record(
  {
    kinds: fc.uniqueArray(fc.constantFrom("Deployment", "StatefulSet", "Pod", "CronJob"), { minLength: 1 }),
    namespaces: fc.uniqueArray(fc.constantFrom(...NAMESPACES), { maxLength: 3 }),
    namespaceSelector: selector,
    objectSelector: selector,
    excludeNamespaces: fc.uniqueArray(fc.constantFrom(...NAMESPACES), { maxLength: 2 }),
  },
  { requiredKeys: ["kinds"] },
);

interface PolicyShape {
  kinds: readonly string[];
  namespaces?: readonly string[];
  namespaceSelector?: unknown;
  objectSelector?: unknown;
  excludeNamespaces?: readonly string[];
}

function compiled(specs: readonly PolicyShape[]): CompiledPolicy[] {
  return specs.map((spec, index) =>
    policy(
      {
        enforcement: "Audit",
        match: {
          kinds: spec.kinds,
          ...(spec.namespaces ? { namespaces: spec.namespaces } : {}),
          ...(spec.namespaceSelector ? { namespaceSelector: spec.namespaceSelector } : {}),
          ...(spec.objectSelector ? { objectSelector: spec.objectSelector } : {}),
        },
        ...(spec.excludeNamespaces ? { exclude: { namespaces: spec.excludeNamespaces } } : {}),
        checks: [{ name: "owner", requiredLabels: ["team"] }],
      },
      `policy-${index}`,
    ),
  );
}

const request = fc.record({
  kind: fc.constantFrom("Deployment", "StatefulSet", "Pod", "CronJob", "ConfigMap"),
  namespace: fc.constantFrom(...NAMESPACES),
  namespaceLabels: labels,
  objectLabels: labels,
});

describe("the policy index", () => {
  it("yields exactly the policies a linear scan matches, in their order (property)", () => {
    fc.assert(
      fc.property(fc.array(policySpec, { minLength: 16, maxLength: 60 }), request, (specs, shape) => {
        const policies = compiled(specs);
        const gate = gateRequest(deployment({ labels: shape.objectLabels }), {
          kind: shape.kind,
          namespace: shape.namespace,
          namespaceLabels: shape.namespaceLabels,
        });
        const linear = policies.filter((candidate) => policyMatches(candidate, gate)).map((p) => p.name);
        expect(evaluate(policies, gate).matched.map((verdict) => verdict.policy)).toEqual(linear);
        const candidates = policyIndexOf(policies).candidates(gate);
        expect(candidates.filter((candidate) => policyMatches(candidate, gate)).map((p) => p.name)).toEqual(linear);
      }),
      { numRuns: 400 },
    );
  });

  it("files a policy by its namespaces or a required namespace label, and leaves others out", () => {
    const policies = compiled([
      ...Array.from({ length: 14 }, () => ({ kinds: ["Deployment"], namespaces: ["search"] })),
      { kinds: ["Deployment"], namespaceSelector: { matchLabels: { team: "payments", env: "prod" } } },
      {
        kinds: ["Deployment"],
        namespaceSelector: { matchExpressions: [{ key: "tier", operator: "In", values: ["gold", "prod"] }] },
      },
      {
        kinds: ["Deployment"],
        namespaceSelector: { matchExpressions: [{ key: "tier", operator: "NotIn", values: ["gold"] }] },
      },
    ]);
    const candidates = (namespace: string, namespaceLabels: Record<string, string>): string[] =>
      policyIndexOf(policies)
        .candidates({ namespace, namespaceLabels })
        .map((p) => p.name);
    expect(candidates("payments", { env: "prod", team: "payments" })).toEqual(["policy-14", "policy-16"]);
    expect(candidates("payments", { tier: "gold" })).toEqual(["policy-15", "policy-16"]);
    expect(candidates("search", {})).toHaveLength(15);
    expect(policyIndexOf(policies)).toBe(policyIndexOf(policies));
  });
});
