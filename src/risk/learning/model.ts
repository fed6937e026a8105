// Risk model v2: logistic regression over the v1 factors, predicting the probability that a
// change is rejected. It starts from the v1 points (points / POINTS_PER_LOGIT, with the bias
// placing p = 0.5 at the usual RiskBased threshold), so before any history it ranks changes
// exactly as v1 does; training moves each weight by what approvers actually decided, pulled
// back towards its v1 value (L2 to the prior) so a small history cannot swing it wildly.
// Every prediction comes with per-factor contributions, in logits and in v1-like points.
import type { RiskFactor } from "../../api/v1alpha1/index.js";
import { canonicalSha256 } from "../../changehash/index.js";
import { RISK_FACTOR_POINTS } from "../factors.js";
import { clampScore } from "../score.js";

/** 10 v1 points = 1 logit: a 20-point factor doubles the odds about 7 times. */
export const POINTS_PER_LOGIT = 10;
/** The v1 score at which the initial model says 50 %. */
export const PRIOR_THRESHOLD_POINTS = 40;

export interface LabelledExample {
  /** Names of the factors that applied to the change (v1 names; unknown names get weight 0 at first). */
  readonly factors: readonly string[];
  /** The human decision: true = approved, false = rejected. */
  readonly approved: boolean;
  readonly id?: string;
  readonly at?: string;
}

export interface RiskModel {
  readonly version: 2;
  readonly bias: number;
  readonly weights: Readonly<Record<string, number>>;
  /** The weights training is pulled towards (v1). */
  readonly prior: { readonly bias: number; readonly weights: Readonly<Record<string, number>> };
  readonly trainedOn: number;
}

export interface FactorContribution {
  readonly name: string;
  /** Logit added by this factor. */
  readonly weight: number;
  /** The same in v1 points (weight × POINTS_PER_LOGIT), for people used to the v1 score. */
  readonly points: number;
  /** v1 points of the factor, for comparison. */
  readonly v1Points: number;
}

export interface RiskPrediction {
  /** Probability that a human rejects the change. */
  readonly probability: number;
  /** The probability as a 0-100 score. */
  readonly score: number;
  readonly bias: number;
  readonly contributions: readonly FactorContribution[];
}

const V1 = RISK_FACTOR_POINTS as Readonly<Record<string, number>>;

export function initialModel(): RiskModel {
  const weights = Object.fromEntries(Object.entries(V1).map(([name, points]) => [name, points / POINTS_PER_LOGIT]));
  const bias = -PRIOR_THRESHOLD_POINTS / POINTS_PER_LOGIT;
  return { version: 2, bias, weights, prior: { bias, weights }, trainedOn: 0 };
}

export function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

function uniqueFactors(factors: readonly string[]): string[] {
  return [...new Set(factors)];
}

export function predict(model: RiskModel, factors: readonly string[]): RiskPrediction {
  const contributions = uniqueFactors(factors).map((name) => {
    const weight = model.weights[name] ?? 0;
    return { name, weight, points: Math.round(weight * POINTS_PER_LOGIT * 10) / 10, v1Points: V1[name] ?? 0 };
  });
  const logit = model.bias + contributions.reduce((sum, c) => sum + c.weight, 0);
  const probability = sigmoid(logit);
  return {
    probability,
    score: Math.round(probability * 100),
    bias: model.bias,
    contributions: contributions.sort((a, b) => b.weight - a.weight),
  };
}

export interface TrainingOptions {
  readonly epochs: number;
  readonly learningRate: number;
  /** Strength of the pull towards the prior, per example-equivalent. */
  readonly priorStrength: number;
}

export const DEFAULT_TRAINING: TrainingOptions = { epochs: 300, learningRate: 0.5, priorStrength: 2 };

interface Gradient {
  bias: number;
  weights: Map<string, number>;
}

function gradientOf(model: RiskModel, examples: readonly LabelledExample[]): Gradient {
  const gradient: Gradient = { bias: 0, weights: new Map() };
  for (const example of examples) {
    const error = predict(model, example.factors).probability - (example.approved ? 0 : 1);
    gradient.bias += error;
    for (const name of uniqueFactors(example.factors))
      gradient.weights.set(name, (gradient.weights.get(name) ?? 0) + error);
  }
  return gradient;
}

function step(model: RiskModel, gradient: Gradient, n: number, options: TrainingOptions): RiskModel {
  const names = new Set([...Object.keys(model.weights), ...gradient.weights.keys()]);
  const pull = options.priorStrength / n;
  const weights: Record<string, number> = {};
  for (const name of names) {
    const w = model.weights[name] ?? 0;
    const g = (gradient.weights.get(name) ?? 0) / n + pull * (w - (model.prior.weights[name] ?? 0));
    weights[name] = w - options.learningRate * g;
  }
  const biasGradient = gradient.bias / n + pull * (model.bias - model.prior.bias);
  return { ...model, bias: model.bias - options.learningRate * biasGradient, weights };
}

/**
 * Full-batch gradient descent on the log loss plus an L2 pull towards the prior. Deterministic:
 * the same history always gives the same model.
 */
export function train(
  model: RiskModel,
  examples: readonly LabelledExample[],
  options: TrainingOptions = DEFAULT_TRAINING,
): RiskModel {
  if (examples.length === 0) return model;
  let current = model;
  for (let epoch = 0; epoch < options.epochs; epoch += 1)
    current = step(current, gradientOf(current, examples), examples.length, options);
  return { ...current, trainedOn: model.trainedOn + examples.length };
}

/**
 * The name a model is known by in ApprovalRequests and evidence: `v2-` and the first 12 hex digits
 * of the SHA-256 of its canonical weights, so the same weights always have the same name.
 */
export function modelVersion(model: Pick<RiskModel, "bias" | "weights">): string {
  return `v2-${canonicalSha256({ bias: model.bias, weights: model.weights }).slice("sha256:".length, "sha256:".length + 12)}`;
}

/** A change scored by a model: the score the thresholds compare, and what it is made of. */
export interface ModelRiskScore {
  /**
   * 40 + 10 × logit, clamped to 0–100: on the v1 points scale (the initial model gives exactly the
   * v1 score), so thresholds keep their meaning while the weights learn. 40 = a 50 % rejection risk.
   */
  readonly score: number;
  /** Probability that a human rejects the change. */
  readonly probability: number;
  /** The factors with their points as this model weighs them (contribution × 10, rounded). */
  readonly factors: readonly RiskFactor[];
  readonly model: string;
}

/** Scores the factors v1's detectors found with `model`; the details stay the detectors'. */
export function scoreWithModel(model: RiskModel, factors: readonly RiskFactor[]): ModelRiskScore {
  const prediction = predict(
    model,
    factors.map((factor) => factor.name),
  );
  const weightOf = new Map(prediction.contributions.map((c) => [c.name, c.weight]));
  const logit = model.bias + prediction.contributions.reduce((sum, c) => sum + c.weight, 0);
  return {
    score: clampScore(PRIOR_THRESHOLD_POINTS + POINTS_PER_LOGIT * logit),
    probability: Math.round(prediction.probability * 10_000) / 10_000,
    factors: factors.map((factor) => ({
      ...factor,
      points: Math.round((weightOf.get(factor.name) ?? 0) * POINTS_PER_LOGIT),
    })),
    model: modelVersion(model),
  };
}
