// Risk model v2: logistic regression over the v1 factors, predicting the probability that a
// change is rejected. It starts from the v1 points (points / POINTS_PER_LOGIT, with the bias
// placing p = 0.5 at the usual RiskBased threshold), so before any history it ranks changes
// exactly as v1 does; training moves each weight by what approvers actually decided, pulled
// back towards its v1 value (L2 to the prior) so a small history cannot swing it wildly.
// Every prediction comes with per-factor contributions, in logits and in v1-like points.
import { RISK_FACTOR_POINTS } from "../factors.js";

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
