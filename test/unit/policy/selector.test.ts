import { describe, expect, it } from "vitest";
import { LabelSelectorError, compileLabelSelector, matchesLabelSelector } from "../../../src/policy/index.js";

const labels = { app: "web", tier: "front", "acme.io/team": "payments" };

describe("matchesLabelSelector", () => {
  it("an absent or empty selector matches everything", () => {
    expect(matchesLabelSelector(undefined, {})).toBe(true);
    expect(matchesLabelSelector({}, {})).toBe(true);
    expect(matchesLabelSelector({ matchLabels: {}, matchExpressions: [] }, labels)).toBe(true);
  });

  it("matchLabels needs every pair", () => {
    expect(matchesLabelSelector({ matchLabels: { app: "web", tier: "front" } }, labels)).toBe(true);
    expect(matchesLabelSelector({ matchLabels: { app: "web", tier: "back" } }, labels)).toBe(false);
    expect(matchesLabelSelector({ matchLabels: { missing: "" } }, labels)).toBe(false);
  });

  it.each([
    ["In", ["web", "api"], true],
    ["In", ["api"], false],
    ["NotIn", ["api"], true],
    ["NotIn", ["web"], false],
    ["Exists", undefined, true],
    ["DoesNotExist", undefined, false],
  ] as const)("%s %j on a present key → %s", (operator, values, expected) => {
    const expression = { key: "app", operator, ...(values === undefined ? {} : { values: [...values] }) };
    expect(matchesLabelSelector({ matchExpressions: [expression] }, labels)).toBe(expected);
  });

  it("absent key: NotIn and DoesNotExist match, In and Exists do not", () => {
    const on = (operator: "In" | "NotIn" | "Exists" | "DoesNotExist"): boolean =>
      matchesLabelSelector(
        { matchExpressions: [{ key: "gone", operator, ...(operator.endsWith("In") ? { values: ["x"] } : {}) }] },
        labels,
      );
    expect([on("In"), on("NotIn"), on("Exists"), on("DoesNotExist")]).toEqual([false, true, false, true]);
  });

  it("ANDs matchLabels and matchExpressions", () => {
    const selector = {
      matchLabels: { app: "web" },
      matchExpressions: [{ key: "tier", operator: "In" as const, values: ["back"] }],
    };
    expect(matchesLabelSelector(selector, labels)).toBe(false);
  });
});

describe("compileLabelSelector validation", () => {
  it("refuses In without values, naming the path", () => {
    expect(() => compileLabelSelector({ matchExpressions: [{ key: "app", operator: "In" }] })).toThrow(
      /matchExpressions\[0\]\.values: operator In needs at least one value/,
    );
  });

  it("refuses Exists with values and bad keys and values", () => {
    try {
      compileLabelSelector({
        matchLabels: { "bad key": "v", ok: "bad value!" },
        matchExpressions: [{ key: "app", operator: "Exists", values: ["x"] }],
      });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(LabelSelectorError);
      expect((error as LabelSelectorError).problems.map((p) => p.path)).toEqual([
        'matchLabels["bad key"]',
        'matchLabels["ok"]',
        "matchExpressions[0].values",
      ]);
    }
  });

  it("refuses an unknown operator", () => {
    const selector = JSON.parse('{"matchExpressions":[{"key":"a","operator":"Gt","values":["1"]}]}') as Parameters<
      typeof compileLabelSelector
    >[0];
    expect(() => compileLabelSelector(selector)).toThrow(/unknown operator "Gt"/);
  });
});
