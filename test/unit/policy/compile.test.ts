import { describe, expect, it } from "vitest";
import {
  CelCompileError,
  PolicyCompileError,
  compileCel,
  compilePolicy,
  specHashOf,
  toCelInput,
} from "../../../src/policy/index.js";
import { DESIGN_POLICY_SPEC, parsePolicy } from "./fixtures.js";

function compileProblems(spec: Record<string, unknown>): { path: string; message: string }[] {
  try {
    compilePolicy(parsePolicy(spec));
  } catch (error) {
    if (error instanceof PolicyCompileError) return [...error.problems];
    throw error;
  }
  return [];
}

const base = { match: { kinds: ["Deployment"] } };

describe("compilePolicy", () => {
  it("compiles the DESIGN §2 example", () => {
    const compiled = compilePolicy(parsePolicy(DESIGN_POLICY_SPEC));
    expect(compiled.name).toBe("prod-gate");
    expect(compiled.enforcement).toBe("Enforce");
    expect(compiled.checks.map((check) => check.field)).toEqual([
      "podSecurity",
      "allowedRegistries",
      "requireImageDigest",
      "disallowLatestTag",
      "requireResources",
      "requiredLabels",
      "cel",
    ]);
    expect(compiled.specHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(compiled.approval?.approvers.groups).toEqual(["sre-leads"]);
  });

  it("lists every problem with its path", () => {
    const problems = compileProblems({
      match: {
        kinds: ["Deployment"],
        namespaceSelector: { matchExpressions: [{ key: "env", operator: "In" }] },
        objectSelector: { matchExpressions: [{ key: "app", operator: "DoesNotExist", values: ["x"] }] },
      },
      checks: [
        { name: "bad-syntax", cel: "object.spec.replicas <=" },
        { name: "bad-var", cel: "self.spec.replicas < 3" },
        { name: "bad-func", cel: "object.metadata.name.shout() == 'A'" },
        { name: "bad-var", disallowLatestTag: true },
      ],
    });
    expect(problems.map((p) => p.path)).toEqual([
      "spec.match.namespaceSelector.matchExpressions[0].values",
      "spec.match.objectSelector.matchExpressions[0].values",
      "spec.checks[0].cel",
      "spec.checks[1].cel",
      "spec.checks[2].cel",
      "spec.checks[3].name",
    ]);
    expect(problems[2]?.message).toMatch(/syntax error/);
    expect(problems[3]?.message).toMatch(/undeclared reference to "self"/);
    expect(problems[4]?.message).toMatch(/unknown function "shout"/);
    expect(problems[5]?.message).toMatch(/duplicate check name/);
  });

  it("refuses a check with no or two check fields even when the schema was bypassed", () => {
    const policy = parsePolicy({ ...base, checks: [] });
    const invalid = {
      ...policy,
      spec: { ...policy.spec, checks: [{ name: "x" }, { name: "y", requireImageDigest: true, cel: "true" }] },
    };
    expect(() => compilePolicy(invalid)).toThrow(
      /exactly one check field; it has none.*it has requireImageDigest, cel/,
    );
  });

  it("needs a name", () => {
    const policy = parsePolicy({ ...base });
    expect(() => compilePolicy({ ...policy, metadata: {} })).toThrow(PolicyCompileError);
  });
});

describe("specHashOf", () => {
  it("is the JCS hash of the spec: key order does not matter, content does", () => {
    const a = parsePolicy(DESIGN_POLICY_SPEC);
    const reordered = { ...a, spec: Object.fromEntries(Object.entries(a.spec).reverse()) as typeof a.spec };
    expect(specHashOf(reordered)).toBe(specHashOf(a));
    expect(specHashOf({ spec: { ...a.spec, enforcement: "Audit" } })).not.toBe(specHashOf(a));
  });
});

describe("compileCel", () => {
  it("allows comprehension variables and type names", () => {
    const program = compileCel("object.items.all(i, type(i) == int) && object.items.exists(j, j > 1)");
    expect(program({ object: toCelInput({ items: [1, 2] }), oldObject: null })).toEqual({ ok: true, value: true });
  });

  it("does not let a comprehension variable leak out of its macro", () => {
    expect(() => compileCel("object.items.all(i, i > 0) && i > 0")).toThrow(CelCompileError);
  });

  it("treats JSON integers as CEL ints so arithmetic with int literals works", () => {
    const program = compileCel("object.spec.replicas * 2 <= 10 && object.spec.ratio > 0.25");
    expect(program({ object: toCelInput({ spec: { replicas: 5, ratio: 0.5 } }), oldObject: null })).toEqual({
      ok: true,
      value: true,
    });
  });

  it("has the strings extension", () => {
    const program = compileCel("object.name.lowerAscii().split('-').size() == 2");
    expect(program({ object: toCelInput({ name: "Web-API" }), oldObject: null })).toEqual({ ok: true, value: true });
  });

  it("returns evaluation errors instead of throwing", () => {
    const program = compileCel("object.spec.replicas <= 10");
    expect(program({ object: toCelInput({ spec: {} }), oldObject: null })).toEqual({
      ok: false,
      error: expect.stringMatching(/replicas/) as unknown,
    });
  });
});
