import { createHash } from "node:crypto";
import canonicalize from "canonicalize";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalSha256, sameJson, toJsonValue } from "../../../src/changehash/index.js";
import { canonicalJson } from "../../../src/json/canonical-json.js";
import { jsonValue } from "../json/arbitraries.js";

const sha256OfJcs = (value: unknown): string =>
  `sha256:${createHash("sha256")
    .update(canonicalize(value) ?? "", "utf8")
    .digest("hex")}`;

describe("canonicalSha256 and toJsonValue on JSON values", () => {
  it("hash sha256 of the canonicalize package's RFC 8785 text (property)", () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        expect(canonicalSha256(value)).toBe(sha256OfJcs(value));
      }),
      { numRuns: 500 },
    );
  });

  it("toJsonValue copies a JSON value without changing it (property)", () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        const copy = toJsonValue(value);
        expect(canonicalJson(copy)).toBe(canonicalize(value));
        if (typeof value === "object" && value !== null) expect(copy).not.toBe(value);
      }),
    );
  });

  it("keeps a __proto__ key as the API server would", () => {
    const spec: unknown = JSON.parse('{"__proto__":{"polluted":true},"b":2}');
    expect(canonicalJson(toJsonValue(spec))).toBe('{"__proto__":{"polluted":true},"b":2}');
    expect(canonicalSha256(spec)).not.toBe(canonicalSha256({ b: 2 }));
  });
});

describe("toJsonValue on values that are not JSON (the documented conversion)", () => {
  const holey = (): unknown[] => {
    const items: unknown[] = [];
    items[1] = 2;
    return items;
  };
  const cycle: Record<string, unknown> = {};
  cycle["self"] = { back: cycle };

  it.each<[string, unknown, string]>([
    ["undefined at the top hashes as null", undefined, "null"],
    ["non-finite numbers become null", { a: Number.NaN, b: [Infinity, -Infinity] }, '{"a":null,"b":[null,null]}'],
    ["lone surrogates become U+FFFD, in keys too", { "\udc00": "x\ud800" }, '{"\uFFFD":"x\uFFFD"}'],
    ["leaves with no JSON form are dropped from objects", { u: undefined, f: () => 1, n: 1n, s: Symbol("s") }, "{}"],
    ["and become null in arrays", [undefined, () => 1, 1n, Symbol("s"), 2], "[null,null,null,null,2]"],
    ["array holes are null", holey(), "[null,2]"],
    ["a Date is its toJSON()", { at: new Date(0) }, '{"at":"1970-01-01T00:00:00.000Z"}'],
    ["boxed primitives are unwrapped", [new Number(1), new String("ab"), new Boolean(true)], '[1,"ab",true]'],
    ["a Map is {}", new Map([["a", 1]]), "{}"],
    ["-0 is 0", [-0], "[0]"],
    ["a backslash before ud800 is text, not a surrogate", { a: "\\ud800" }, '{"a":"\\\\ud800"}'],
    ["a BigInt inside an object is dropped (JSON.stringify would throw)", { a: 1, b: { n: 2n } }, '{"a":1,"b":{}}'],
  ])("%s", (_name, value, expected) => {
    expect(canonicalJson(toJsonValue(value) ?? null)).toBe(expected);
    expect(canonicalSha256(value)).toBe(sha256OfJcs(JSON.parse(expected)));
  });

  it("throws a TypeError on a cycle", () => {
    expect(() => toJsonValue(cycle)).toThrow(TypeError);
    expect(() => canonicalSha256(cycle)).toThrow(/cycle/);
  });

  it("lets a value be shared without being a cycle", () => {
    const shared = { a: 1 };
    expect(canonicalJson(toJsonValue([shared, { shared }]))).toBe('[{"a":1},{"shared":{"a":1}}]');
  });

  it("sameJson compares the stored forms: undefined is null, NaN is null", () => {
    expect(sameJson(undefined, null)).toBe(true);
    expect(sameJson({ a: Number.NaN }, { a: null })).toBe(true);
    expect(sameJson({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(sameJson({ a: 1 }, { a: 2 })).toBe(false);
  });
});
