import type { DecisionHistoryReader } from "../../ports/evidence.js";
import { readTrainingExamples } from "./history-reader.js";
import {
  DEFAULT_TRAINING,
  initialModel,
  predict,
  train,
  type LabelledExample,
  type RiskModel,
  type RiskPrediction,
  type TrainingOptions,
} from "./model.js";

/**
 * Keeps a v2 model current with the ledger: `refresh()` reads only decisions appended since the
 * last call and retrains from the v1 start on the whole history (deterministic, so every replica
 * with the same ledger holds the same model). Call it on a timer or after approval transitions.
 */
export class RiskLearner {
  private examples: LabelledExample[] = [];
  private lastSeq = -1;
  private current: RiskModel = initialModel();

  constructor(
    private readonly history: DecisionHistoryReader,
    private readonly training: TrainingOptions = DEFAULT_TRAINING,
  ) {}

  /** Returns how many new decisions were learnt from. */
  async refresh(): Promise<number> {
    const fresh = await readTrainingExamples(this.history, { afterSeq: this.lastSeq });
    if (fresh.length === 0) return 0;
    this.lastSeq = fresh.at(-1)?.seq ?? this.lastSeq;
    this.examples = [...this.examples, ...fresh];
    this.current = train(initialModel(), this.examples, this.training);
    return fresh.length;
  }

  get model(): RiskModel {
    return this.current;
  }

  explain(factors: readonly string[]): RiskPrediction {
    return predict(this.current, factors);
  }
}
