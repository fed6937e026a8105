// How well predicted probabilities match what approvers did: Brier score, log loss, and
// reliability bins (predicted vs observed rejection rate) with their expected calibration error.
import { predict, type LabelledExample, type RiskModel } from "./model.js";

export interface Scored {
  readonly probability: number;
  /** 1 when the change was rejected. */
  readonly outcome: 0 | 1;
}

export interface ReliabilityBin {
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
  readonly meanPredicted: number | null;
  readonly observedRate: number | null;
}

export interface CalibrationReport {
  readonly examples: number;
  readonly rejectedRate: number | null;
  readonly brier: number | null;
  readonly logLoss: number | null;
  /** Count-weighted mean |predicted − observed| over the bins. */
  readonly expectedCalibrationError: number | null;
  readonly bins: readonly ReliabilityBin[];
}

export function scoreExamples(model: RiskModel, examples: readonly LabelledExample[]): Scored[] {
  return examples.map((example) => ({
    probability: predict(model, example.factors).probability,
    outcome: example.approved ? 0 : 1,
  }));
}

const mean = (values: readonly number[]): number | null =>
  values.length === 0 ? null : values.reduce((a, b) => a + b, 0) / values.length;
const EPSILON = 1e-12;

export function reliabilityBins(scored: readonly Scored[], count = 10): ReliabilityBin[] {
  return Array.from({ length: count }, (_, index) => {
    const lower = index / count;
    const upper = (index + 1) / count;
    const inBin = scored.filter(
      (s) => s.probability >= lower && (s.probability < upper || (index === count - 1 && s.probability <= 1)),
    );
    return {
      lower,
      upper,
      count: inBin.length,
      meanPredicted: mean(inBin.map((s) => s.probability)),
      observedRate: mean(inBin.map((s) => s.outcome)),
    };
  });
}

export function calibrationReport(scored: readonly Scored[], binCount = 10): CalibrationReport {
  const bins = reliabilityBins(scored, binCount);
  const ece =
    scored.length === 0
      ? null
      : bins.reduce(
          (sum, bin) =>
            sum + (bin.count / scored.length) * Math.abs((bin.meanPredicted ?? 0) - (bin.observedRate ?? 0)),
          0,
        );
  return {
    examples: scored.length,
    rejectedRate: mean(scored.map((s) => s.outcome)),
    brier: mean(scored.map((s) => (s.probability - s.outcome) ** 2)),
    logLoss: mean(
      scored.map(
        (s) =>
          -(
            s.outcome * Math.log(Math.max(EPSILON, s.probability)) +
            (1 - s.outcome) * Math.log(Math.max(EPSILON, 1 - s.probability))
          ),
      ),
    ),
    expectedCalibrationError: ece,
    bins,
  };
}
