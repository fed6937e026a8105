import canonicalize from "canonicalize";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson } from "../../../src/json/canonical-json.js";
import { jsonValue } from "./arbitraries.js";

describe("canonicalJson (RFC 8785)", () => {
  it("sorts keys by UTF-16 code units and drops insignificant whitespace", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: "x" }, "\u00e9": 0, A: 0 })).toBe(
      '{"A":0,"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1,"é":0}',
    );
    expect(canonicalJson({ "\uFB33": 1, "\u{1F600}": 2 })).toBe('{"\u{1F600}":2,"\uFB33":1}');
  });

  it("formats numbers as ECMAScript does, whatever the source spelling", () => {
    expect(canonicalJson([1.0, -0, 1e21, 0.000001, 1e-7, 123456789012345680000])).toBe(
      "[1,0,1e+21,0.000001,1e-7,123456789012345680000]",
    );
  });

  it("keeps a __proto__ key that JSON.parse made an own property", () => {
    expect(canonicalJson(JSON.parse('{"b":1,"__proto__":{"a":1}}'))).toBe('{"__proto__":{"a":1},"b":1}');
  });

  it("is byte-identical to the canonicalize package on JSON values (property)", () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        expect(canonicalJson(value)).toBe(canonicalize(value));
      }),
      { numRuns: 500 },
    );
  });

  it("takes the JSON.stringify path only where that is byte-identical: values parsed back from canonical text (property)", () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        const ordered: unknown = JSON.parse(canonicalize(value) ?? "null");
        expect(canonicalJson(ordered)).toBe(canonicalize(ordered));
      }),
      { numRuns: 500 },
    );
    // Integer-like keys: V8 lists them first, in numeric order, which is not UTF-16 order.
    expect(canonicalJson(JSON.parse('{"10":1,"9":2,"a":3}'))).toBe('{"10":1,"9":2,"a":3}');
    expect(canonicalJson({ b: 1, a: [1, { d: 2, c: 3 }] })).toBe('{"a":[1,{"c":3,"d":2}],"b":1}');
  });

  it("is what JSON.parse of its own output gives back (property)", () => {
    fc.assert(
      fc.property(jsonValue, (value) => {
        const text = canonicalJson(value);
        expect(canonicalJson(JSON.parse(text))).toBe(text);
      }),
    );
  });
});

describe("canonicalJson on values that are not JSON", () => {
  class Point {
    x = 1;
    y = 2;
    get sum(): number {
      return this.x + this.y;
    }
  }
  const cycle: Record<string, unknown> = {};
  cycle["self"] = cycle;
  const holey = (): unknown[] => {
    const items: unknown[] = [];
    items[1] = 2;
    return items;
  };

  it.each<[string, unknown, string]>([
    [
      "undefined, function and symbol members are dropped",
      { a: undefined, f: () => 1, s: Symbol("s"), b: 1 },
      '{"b":1}',
    ],
    ["they become null in arrays", [undefined, () => 1, Symbol("s"), 1], "[null,null,null,1]"],
    ["array holes are null", holey(), "[null,2]"],
    ["a Date is its toJSON(): the ISO string", { at: new Date(0) }, '{"at":"1970-01-01T00:00:00.000Z"}'],
    ["toJSON() is called at the top too", { toJSON: () => ({ b: 1, a: 2 }) }, '{"a":2,"b":1}'],
    ["boxed primitives are unwrapped", [new Number(1), new String("ab"), new Boolean(false)], '[1,"ab",false]'],
    ["a class instance is its own enumerable fields", new Point(), '{"x":1,"y":2}'],
    ["a Map or Set has none", [new Map([["a", 1]]), new Set([1])], "[{},{}]"],
    ["extra array properties are ignored", Object.assign([1], { extra: 2 }), "[1]"],
    ["-0 is written 0", { z: -0 }, '{"z":0}'],
  ])("%s", (_name, value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });

  it.each<[string, unknown, RegExp]>([
    ["NaN", { x: Number.NaN }, /NaN/],
    ["Infinity", [Infinity], /Infinity/],
    ["-Infinity", -Infinity, /Infinity/],
    ["a BigInt", { n: 1n }, /BigInt/],
    ["a lone surrogate in a string", "\ud800", /Lone surrogate/],
    ["a lone surrogate in a key", { "\udc00": 1 }, /Lone surrogate/],
    ["a cycle", cycle, /Circular/],
    ["undefined at the top", undefined, /no JSON representation/],
    ["a function at the top", () => 1, /no JSON representation/],
    ["a symbol at the top", Symbol("s"), /no JSON representation/],
  ])("throws a TypeError for %s", (_name, value, message) => {
    expect(() => canonicalJson(value)).toThrow(TypeError);
    expect(() => canonicalJson(value)).toThrow(message);
  });
});
