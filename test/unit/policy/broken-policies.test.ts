// Fail closed at run time: a stored policy that does not compile denies (Enforce) or warns (Audit)
// across its scope instead of being left out of the gate's policy set.
import { describe, expect, it } from "vitest";
import {
  brokenPolicyVerdicts,
  compilePolicy,
  evaluate,
  formatViolation,
  withVerdicts,
  type PolicyEntry,
} from "../../../src/policy/index.js";
import { deployment, gateRequest, parsePolicy } from "./fixtures.js";

/** A stored policy as the informer cache lists it: with the compiler's error, if any. */
function entry(spec: Record<string, unknown>, name = "prod-gate"): PolicyEntry {
  const policy = parsePolicy(spec, name);
  try {
    compilePolicy(policy);
    return { policy, compileError: undefined };
  } catch (error) {
    return { policy, compileError: error instanceof Error ? error.message : String(error) };
  }
}

const brokenCel = [{ name: "replicas", cel: "object.spec.replicas <=" }];
const broken = (extra: Record<string, unknown> = {}, name = "prod-gate"): PolicyEntry =>
  entry({ match: { kinds: ["Deployment"], namespaces: ["prod"] }, checks: brokenCel, ...extra }, name);

describe("brokenPolicyVerdicts", () => {
  it("denies a request in the scope of an Enforce policy that did not compile, naming the field and the CEL error", () => {
    const policy = broken();
    expect(policy.compileError).toMatch(/spec\.checks\[0\]\.cel: syntax error/);
    const verdicts = brokenPolicyVerdicts([policy], gateRequest(deployment()));
    expect(verdicts).toHaveLength(1);
    expect(verdicts[0]).toMatchObject({ policy: "prod-gate", enforcement: "Enforce", approval: undefined });
    expect(verdicts[0]?.specHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    const [violation] = verdicts[0]?.violations ?? [];
    expect(violation).toMatchObject({ policy: "prod-gate", check: "compile", rule: "policyNotCompiled" });
    expect(violation?.message).toMatch(
      /^policy prod-gate cannot be evaluated \(it did not compile: spec\.checks\[0\]\.cel: syntax error: .+\); fix the policy — its scope is denied until then$/,
    );
    expect(violation?.message).not.toContain('AegisPolicy "prod-gate" is invalid');
  });

  it("leaves out requests its match or exclude does not select, and policies that compiled", () => {
    const compiled = entry({ match: { kinds: ["Deployment"] }, checks: [{ name: "ok", cel: "true" }] }, "fine");
    expect(compiled.compileError).toBeUndefined();
    const request = gateRequest(deployment());
    expect(brokenPolicyVerdicts([compiled], request)).toEqual([]);
    expect(
      brokenPolicyVerdicts([broken({ match: { kinds: ["Deployment"], namespaces: ["staging"] } })], request),
    ).toEqual([]);
    expect(brokenPolicyVerdicts([broken({ exclude: { users: ["dev"] } })], request)).toEqual([]);
    expect(brokenPolicyVerdicts([broken({ exclude: { namespaces: ["prod"] } })], request)).toEqual([]);
    const configMap = gateRequest({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c", namespace: "prod" } });
    expect(brokenPolicyVerdicts([broken()], configMap)).toEqual([]);
    const selected = broken({
      match: { kinds: ["Deployment"], objectSelector: { matchLabels: { team: "payments" } } },
    });
    expect(brokenPolicyVerdicts([selected], request)).toHaveLength(1);
    const other = broken({ match: { kinds: ["Deployment"], objectSelector: { matchLabels: { team: "search" } } } });
    expect(brokenPolicyVerdicts([other], request)).toEqual([]);
  });

  it("takes an invalid selector to select everything (it cannot say what it leaves out)", () => {
    const invalid = entry({
      match: {
        kinds: ["Deployment"],
        namespaceSelector: { matchExpressions: [{ key: "env", operator: "In", values: [] }] },
      },
    });
    expect(invalid.compileError).toMatch(/spec\.match\.namespaceSelector\.matchExpressions\[0\]\.values/);
    const verdicts = brokenPolicyVerdicts([invalid], gateRequest(deployment()));
    expect(verdicts.map((verdict) => verdict.policy)).toEqual(["prod-gate"]);
    expect(verdicts[0]?.violations[0]?.message).toContain("operator In needs at least one value");
  });

  it("gives one verdict per broken policy that selects the request, in the order given", () => {
    const verdicts = brokenPolicyVerdicts(
      [broken({}, "a"), broken({ match: { kinds: ["Deployment"], namespaces: ["x"] } }, "b"), broken({}, "c")],
      gateRequest(deployment()),
    );
    expect(verdicts.map((verdict) => verdict.policy)).toEqual(["a", "c"]);
  });
});

describe("withVerdicts", () => {
  it("adds a broken Enforce policy's violation to the denials of the evaluation, so the gate denies", () => {
    const fine = entry({ match: { kinds: ["Deployment"] }, checks: [{ name: "ok", cel: "true" }] }, "fine");
    const request = gateRequest(deployment());
    const evaluation = evaluate([compilePolicy(fine.policy)], request);
    expect(evaluation.denied).toEqual([]);
    const merged = withVerdicts(evaluation, brokenPolicyVerdicts([fine, broken()], request));
    expect(merged.matched.map((verdict) => verdict.policy)).toEqual(["fine", "prod-gate"]);
    expect(merged.denied.map(formatViolation)).toEqual([
      expect.stringMatching(/^prod-gate\/compile: policy prod-gate cannot be evaluated \(it did not compile: /),
    ]);
    expect(merged.warnings).toEqual([]);
    expect(withVerdicts(evaluation, [])).toBe(evaluation);
  });

  it("adds a broken Audit policy's violation to the warnings: it warns, as it would when it compiled", () => {
    const audit = broken({ enforcement: "Audit" });
    const request = gateRequest(deployment());
    const merged = withVerdicts(evaluate([], request), brokenPolicyVerdicts([audit], request));
    expect(merged.denied).toEqual([]);
    expect(merged.warnings).toHaveLength(1);
    expect(merged.warnings[0]?.message).toMatch(
      /fix the policy — it is an Audit policy, so its scope is admitted with this warning until then$/,
    );
  });
});
