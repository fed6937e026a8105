import { describe, expect, it } from "vitest";
import { RISK_FACTOR_POINTS, scoreRisk } from "../../../src/risk/index.js";
import {
  calibrationReport,
  initialModel,
  learningReport,
  predict,
  reliabilityBins,
  scoreExamples,
  train,
} from "../../../src/risk/learning/index.js";
import { syntheticHistory } from "./synthetic.js";

describe("risk model v2", () => {
  it("starts from the v1 points: same ranking, 50 % at the usual threshold, explained per factor", () => {
    const model = initialModel();
    expect(model.weights["privilege-increase"]).toBeCloseTo(RISK_FACTOR_POINTS["privilege-increase"] / 10);
    expect(predict(model, ["new-registry", "mutable-tag"]).probability).toBeLessThan(0.5);
    expect(predict(model, ["new-registry", "host-access"]).probability).toBeCloseTo(0.5);
    const explained = predict(model, ["image-change", "privilege-increase"]);
    expect(explained.contributions).toEqual([
      { name: "privilege-increase", weight: 2.5, points: 25, v1Points: 25 },
      { name: "image-change", weight: 0.5, points: 5, v1Points: 5 },
    ]);
    expect(explained.score).toBe(Math.round(explained.probability * 100));
  });

  it("agrees with scoreRisk's factor names", () => {
    const risk = scoreRisk({
      operation: "CREATE",
      kind: "Deployment",
      object: { spec: { template: { spec: { containers: [{ name: "a", image: "x:1" }] } } } },
      oldObject: null,
      namespaceLabels: {},
      now: new Date("2026-03-03T10:00:00Z"),
    });
    expect(
      predict(
        initialModel(),
        risk.factors.map((f) => f.name),
      ).contributions.every((c) => c.v1Points > 0),
    ).toBe(true);
  });

  it("learns from decisions: weights follow what approvers reject, calibration improves", () => {
    const history = syntheticHistory(2_000);
    const trained = train(initialModel(), history);
    expect(trained.trainedOn).toBe(2_000);
    expect(trained.weights["privilege-increase"]).toBeGreaterThan(initialModel().weights["privilege-increase"] ?? 0);
    expect(trained.weights["mutable-tag"]).toBeLessThan(initialModel().weights["mutable-tag"] ?? 0);
    const before = calibrationReport(scoreExamples(initialModel(), history));
    const after = calibrationReport(scoreExamples(trained, history));
    expect(after.brier).toBeLessThan(before.brier ?? 0);
    expect(after.expectedCalibrationError).toBeLessThan(0.08);
  });

  it("stays near the prior on a tiny history, and is deterministic", () => {
    const tiny = syntheticHistory(3);
    const a = train(initialModel(), tiny);
    expect(a).toEqual(train(initialModel(), tiny));
    for (const [name, w] of Object.entries(initialModel().weights))
      expect(Math.abs((a.weights[name] ?? 0) - w)).toBeLessThan(1.5);
    expect(train(initialModel(), [])).toEqual(initialModel());
  });

  it("bins predictions and reports held-out calibration", () => {
    const bins = reliabilityBins(
      [
        { probability: 0.05, outcome: 0 },
        { probability: 0.95, outcome: 1 },
        { probability: 1, outcome: 1 },
      ],
      10,
    );
    expect(bins[0]).toMatchObject({ count: 1, observedRate: 0 });
    expect(bins[9]).toMatchObject({ count: 2, observedRate: 1 });
    const report = learningReport(syntheticHistory(1_000));
    expect(report).toMatchObject({ examples: 1_000, train: 700, test: 300 });
    expect(report.trained.brier).toBeLessThan(report.initial.brier ?? 0);
    expect(report.weights[0]?.name).toBe("privilege-increase");
  });
});
