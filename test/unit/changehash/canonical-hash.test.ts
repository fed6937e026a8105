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

describe("sameJson's structural comparison", () => {
  const storedEqual = (a: unknown, b: unknown): boolean =>
    canonicalJson(toJsonValue(a) ?? null) === canonicalJson(toJsonValue(b) ?? null);
  /** The same value with every object's keys in reverse order and every string made well-formed or not. */
  const reordered = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(reordered);
    if (typeof value !== "object" || value === null) return value;
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([key, item]) => [key, reordered(item)]),
    );
  };

  it("agrees with comparing the stored canonical text, on random pairs and reordered copies (property)", () => {
    fc.assert(
      fc.property(jsonValue, jsonValue, (a, b) => {
        expect(sameJson(a, b)).toBe(storedEqual(a, b));
        expect(sameJson(a, reordered(a))).toBe(true);
        expect(sameJson(a, JSON.parse(JSON.stringify(a)))).toBe(storedEqual(a, JSON.parse(JSON.stringify(a))));
      }),
      { numRuns: 1000 },
    );
  });

  it("agrees on values one member apart (property)", () => {
    const object = fc.dictionary(fc.string({ maxLength: 4 }), jsonValue, { minKeys: 1, maxKeys: 6 });
    fc.assert(
      fc.property(object, jsonValue, fc.nat(), (base, replacement, pick) => {
        const keys = Object.keys(base);
        const key = keys[pick % keys.length] ?? "";
        const changed = Object.fromEntries(Object.entries(base).map(([k, v]) => [k, k === key ? replacement : v]));
        expect(sameJson(base, changed)).toBe(storedEqual(base, changed));
        const { [key]: _dropped, ...smaller } = base;
        expect(sameJson(base, smaller)).toBe(storedEqual(base, smaller));
      }),
      { numRuns: 500 },
    );
  });

  it.each<[string, unknown, unknown, boolean]>([
    ["a lone surrogate equals U+FFFD, as stored", { a: "x\ud800" }, { a: "x\uFFFD" }, true],
    ["a lone surrogate in a key equals U+FFFD", { "\udc00": 1 }, { "\uFFFD": 1 }, true],
    ["-0 equals 0", [-0], [0], true],
    ["a __proto__ member counts", JSON.parse('{"__proto__":{"a":1}}'), {}, false],
    ["a toJSON member is called, as stored", { toJSON: () => 1 }, 1, true],
    ["array order counts", [1, 2], [2, 1], false],
    ["an array is not an object", [], {}, false],
    ['1 is not "1"', 1, "1", false],
  ])("%s", (_name, a, b, expected) => {
    expect(sameJson(a, b)).toBe(expected);
    expect(storedEqual(a, b)).toBe(expected);
  });
});
