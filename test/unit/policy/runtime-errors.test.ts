// A rule that cannot be evaluated on a given object fails closed: it is a violation naming the
// check and the error (denied under Enforce, a warning under Audit), never a pass.
import { describe, expect, it } from "vitest";
import { evaluate, formatViolation } from "../../../src/policy/index.js";
import { deployment, gateRequest, policyWithChecks } from "./fixtures.js";

const request = gateRequest(deployment({ replicas: 3 }));

describe("CEL errors at run time", () => {
  it.each([
    ["a missing field", "object.spec.paused == false", /could not be evaluated: .*paused/],
    ["a missing map key", "object.metadata.annotations['owner'] == 'x'", /could not be evaluated: .*annotations/],
    ["division by zero", "object.spec.replicas / 0 > 1", /could not be evaluated: .*divide by zero/],
    ["no matching overload", "object.spec.replicas > 'three'", /could not be evaluated: .*overload/],
    ["an index out of range", "object.spec.template.spec.containers[3].name == 'x'", /could not be evaluated: /],
    ["oldObject on CREATE", "object.spec.replicas >= oldObject.spec.replicas", /could not be evaluated: /],
    ["a failed conversion", "int(object.metadata.name) > 0", /could not be evaluated: /],
    ["a non-bool result", "object.spec.replicas", /returned 3, not a bool/],
  ])("denies under Enforce on %s, naming the check and the error", (_what, cel, error) => {
    const result = evaluate([policyWithChecks([{ name: "rule", cel, message: "custom message" }])], request);
    expect(result.matched).toHaveLength(1);
    expect(result.denied).toHaveLength(1);
    const [violation] = result.denied;
    expect(violation).toMatchObject({ policy: "prod-gate", check: "rule", rule: "celError" });
    expect(violation?.message).toContain(JSON.stringify(cel));
    expect(violation?.message).toMatch(error);
    // The policy's message is for a false result; an error says what went wrong instead.
    expect(violation?.message).not.toContain("custom message");
    expect(formatViolation(violation!)).toMatch(/^prod-gate\/rule: CEL expression /);
  });

  it("warns under Audit (it admits, as an Audit policy does, but says why)", () => {
    const result = evaluate([policyWithChecks([{ name: "rule", cel: "object.spec.paused" }], "Audit")], request);
    expect(result.denied).toEqual([]);
    expect(result.warnings.map((violation) => violation.rule)).toEqual(["celError"]);
  });

  it("evaluates the other checks of the policy and only the failing one is a violation", () => {
    const result = evaluate(
      [
        policyWithChecks([
          { name: "fine", cel: "object.spec.replicas <= 10" },
          { name: "broken", cel: "object.spec.paused" },
        ]),
      ],
      request,
    );
    expect(result.denied.map((violation) => violation.check)).toEqual(["broken"]);
  });

  it("still passes an expression that guards the missing field", () => {
    const result = evaluate(
      [policyWithChecks([{ name: "rule", cel: "!has(object.spec.paused) || !object.spec.paused" }])],
      request,
    );
    expect(result.denied).toEqual([]);
  });
});
