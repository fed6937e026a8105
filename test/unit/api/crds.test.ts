import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { describe, expect, it } from "vitest";
import { renderCrdFiles, toStructuralSchema } from "../../../src/api/crds.js";

const crdDir = join(import.meta.dirname, "..", "..", "..", "crds");

describe("generated CRDs", () => {
  it("crds/ matches the zod schemas (run `npm run crds` when this fails)", () => {
    const expected = renderCrdFiles((value) => stringify(value, { lineWidth: 0 }));
    const committed = readdirSync(crdDir).filter((file) => file.endsWith(".yaml"));
    expect(committed.sort()).toEqual([...expected.keys()].sort());
    for (const [file, text] of expected) {
      expect(readFileSync(join(crdDir, file), "utf8"), `crds/${file} is stale`).toBe(text);
    }
  });

  it("refuses a schema node without a type, which the API server would reject", () => {
    expect(() => toStructuralSchema({ type: "object", properties: { loose: {} } })).toThrow(/without a type/);
  });

  it("drops additionalProperties beside properties and safe-integer bounds", () => {
    const structural = toStructuralSchema({
      type: "object",
      additionalProperties: false,
      properties: { n: { type: "integer", minimum: Number.MIN_SAFE_INTEGER, maximum: 10 } },
    });
    expect(structural).toEqual({ type: "object", properties: { n: { type: "integer", maximum: 10 } } });
  });
});
