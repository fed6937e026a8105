import { describe, expect, it } from "vitest";
import {
  arrayOf,
  asRecord,
  booleanOf,
  integerOf,
  labelsOf,
  numberOf,
  recordAt,
  recordOrEmpty,
  stringListOf,
  stringMapOf,
  stringOf,
} from "../../../src/json/read-json.js";

describe("readers for JSON of unknown shape", () => {
  const odd: unknown[] = [undefined, null, 0, "x", true, [1], { a: 1 }];

  it("accept only their own type", () => {
    expect(odd.map(asRecord)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined, { a: 1 }]);
    expect(odd.map(recordOrEmpty)).toEqual([{}, {}, {}, {}, {}, {}, { a: 1 }]);
    expect(odd.map(arrayOf)).toEqual([[], [], [], [], [], [1], []]);
    expect(odd.map(stringOf)).toEqual([undefined, undefined, undefined, "x", undefined, undefined, undefined]);
    expect(odd.map(booleanOf)).toEqual([undefined, undefined, undefined, undefined, true, undefined, undefined]);
  });

  it("numberOf takes finite numbers, integerOf whole ones", () => {
    const numbers: unknown[] = [1, 1.5, Number.NaN, Infinity, "1"];
    expect(numbers.map(numberOf)).toEqual([1, 1.5, undefined, undefined, undefined]);
    expect(numbers.map(integerOf)).toEqual([1, undefined, undefined, undefined, undefined]);
  });

  it("lists and maps keep only their strings", () => {
    expect(stringListOf(["a", 1, null, "b"])).toEqual(["a", "b"]);
    expect(stringMapOf({ a: "1", b: 2, c: null })).toEqual({ a: "1" });
    expect(labelsOf({ metadata: { labels: { app: "web", n: 1 } } })).toEqual({ app: "web" });
    expect(labelsOf("not an object")).toEqual({});
  });

  it("recordAt follows a path of records", () => {
    const object = { spec: { template: { spec: { containers: [] } } } };
    expect(recordAt(object, "spec", "template", "spec")).toEqual({ containers: [] });
    expect(recordAt(object, "spec", "missing")).toBeUndefined();
    expect(recordAt({ spec: [] }, "spec")).toBeUndefined();
  });
});
