// Calibration of the learned risk model on a synthetic history with known ground truth: each
// change's factors are drawn at random and a simulated approver rejects it with a known
// probability (a logistic model unlike v1: privilege and host access matter, tags and hours do
// not). Trained on the earlier 70 %, judged on the later 30 % against the untrained (v1) model and
// against the ground truth itself (the best any model can do on these outcomes).
import {
  initialModel,
  learningReport,
  scoreWithModel,
  type CalibrationReport,
  type LabelledExample,
  type RiskModel,
} from "../src/risk/learning/index.js";
import { RISK_FACTOR_POINTS } from "../src/risk/index.js";
import { random } from "../test/unit/risk-learning/synthetic.js";
import { round } from "./lib/load.js";

/** The simulated approvers' logit of rejecting: bias plus these per factor. */
const TRUTH_BIAS = -3;
const TRUTH_WEIGHTS: Readonly<Record<string, number>> = {
  "privilege-increase": 4,
  "host-access": 2.5,
  "new-registry": 1.5,
  "critical-namespace": 1,
  "secret-or-env-change": 0.5,
  "mutable-tag": 0,
  "outside-working-hours": 0,
  "image-change": 0,
  "new-workload": 0.2,
  "replicas-jump": 0.3,
};

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

interface TruthExample extends LabelledExample {
  readonly truth: number;
}

export function syntheticHistory(count: number, seed: number): TruthExample[] {
  const next = random(seed);
  const names = Object.keys(RISK_FACTOR_POINTS);
  return Array.from({ length: count }, (_, index) => {
    const factors = names.filter(() => next() < 0.25);
    const truth = sigmoid(TRUTH_BIAS + factors.reduce((sum, name) => sum + (TRUTH_WEIGHTS[name] ?? 0), 0));
    return { id: `c${index}`, factors, approved: next() >= truth, truth };
  });
}

/** Of the changes a model would auto-approve (score below the threshold), how many people approved. */
function autoApprovePrecision(model: RiskModel, examples: readonly LabelledExample[], threshold: number) {
  const auto = examples.filter(
    (example) =>
      scoreWithModel(
        model,
        example.factors.map((name) => ({ name, points: 0, detail: "" })),
      ).score < threshold,
  );
  const approved = auto.filter((example) => example.approved).length;
  return { autoApproved: auto.length, precision: auto.length === 0 ? null : round(approved / auto.length, 4) };
}

function compact(report: CalibrationReport) {
  return {
    brier: report.brier === null ? null : round(report.brier, 4),
    logLoss: report.logLoss === null ? null : round(report.logLoss, 4),
    expectedCalibrationError:
      report.expectedCalibrationError === null ? null : round(report.expectedCalibrationError, 4),
    bins: report.bins
      .filter((bin) => bin.count > 0)
      .map((bin) => ({
        range: `${bin.lower.toFixed(1)}-${bin.upper.toFixed(1)}`,
        count: bin.count,
        predicted: bin.meanPredicted === null ? null : round(bin.meanPredicted, 3),
        observed: bin.observedRate === null ? null : round(bin.observedRate, 3),
      })),
  };
}

export interface RiskBenchResult {
  examples: number;
  test: number;
  /** autoApproveBelow the precision figures use (40: even odds of rejection). */
  autoApproveBelow: number;
  groundTruth: { brier: number };
  initial: ReturnType<typeof compact> & ReturnType<typeof autoApprovePrecision>;
  trained: ReturnType<typeof compact> & ReturnType<typeof autoApprovePrecision>;
  /** trained Brier / ground-truth Brier: 1 is the best a model can do. */
  brierRatioToTruth: number;
  trainSeconds: number;
}

export function benchRisk(options: { examples?: number; seed?: number } = {}): RiskBenchResult {
  const history = syntheticHistory(options.examples ?? 5_000, options.seed ?? 11);
  const split = Math.floor(history.length * 0.7);
  const test = history.slice(split);
  const started = performance.now();
  const report = learningReport(history, { testFraction: 0.3 });
  const trainSeconds = (performance.now() - started) / 1000;
  // learningReport judges a model fitted on the first 70 %; precision is judged the same way.
  const fitted = learningReport(history.slice(0, split), { testFraction: 0 }).model;
  const truthBrier = test.reduce((sum, e) => sum + (e.truth - (e.approved ? 0 : 1)) ** 2, 0) / test.length;
  const threshold = 40;
  const initial = { ...compact(report.initial), ...autoApprovePrecision(initialModel(), test, threshold) };
  const trained = { ...compact(report.trained), ...autoApprovePrecision(fitted, test, threshold) };
  return {
    examples: history.length,
    test: test.length,
    autoApproveBelow: threshold,
    groundTruth: { brier: round(truthBrier, 4) },
    initial,
    trained,
    brierRatioToTruth: round((report.trained.brier ?? Number.NaN) / truthBrier, 3),
    trainSeconds: round(trainSeconds, 2),
  };
}
