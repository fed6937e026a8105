// The calibration report of scripts/risk-calibration.ts: the v1-initialised model and the
// trained one, judged on a held-out later part of the history (time split, no peeking).
import { calibrationReport, scoreExamples, type CalibrationReport } from "./calibration.js";
import {
  DEFAULT_TRAINING,
  initialModel,
  predict,
  train,
  type LabelledExample,
  type RiskModel,
  type TrainingOptions,
} from "./model.js";

export interface LearningReport {
  readonly examples: number;
  readonly train: number;
  readonly test: number;
  readonly initial: CalibrationReport;
  readonly trained: CalibrationReport;
  /** Trained on the whole history: the weights to use, with v1 beside them. */
  readonly model: RiskModel;
  readonly weights: readonly {
    readonly name: string;
    readonly weight: number;
    readonly points: number;
    readonly v1Points: number;
  }[];
}

export function learningReport(
  examples: readonly LabelledExample[],
  options: { testFraction?: number; bins?: number; training?: TrainingOptions } = {},
): LearningReport {
  const split = Math.floor(examples.length * (1 - (options.testFraction ?? 0.3)));
  const [trainSet, testSet] = [examples.slice(0, split), examples.slice(split)];
  const evaluated = testSet.length > 0 ? testSet : examples;
  const training = options.training ?? DEFAULT_TRAINING;
  const fitted = train(initialModel(), trainSet, training);
  const model = train(initialModel(), examples, training);
  const weights = Object.keys(model.weights).map((name) => {
    const { weight, points, v1Points } = predict(model, [name]).contributions[0] ?? {
      weight: 0,
      points: 0,
      v1Points: 0,
    };
    return { name, weight, points, v1Points };
  });
  return {
    examples: examples.length,
    train: trainSet.length,
    test: testSet.length,
    initial: calibrationReport(scoreExamples(initialModel(), evaluated), options.bins),
    trained: calibrationReport(scoreExamples(fitted, evaluated), options.bins),
    model,
    weights: weights.sort((a, b) => b.weight - a.weight),
  };
}
