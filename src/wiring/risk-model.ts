// The risk model every replica scores with. Trained from the ledger's human decisions (the
// leader on a schedule, any replica on demand: training is deterministic, so two replicas
// training the same ledger publish the same version, recorded once by its id), published as a
// signed `risk.model` evidence record, and picked up by every replica from the ledger. Until a
// record exists, the initial model (exactly the v1 score) is in force, under its own version.
import type { KeyObject } from "node:crypto";
import type { EvidenceRecorder, DecisionHistoryReader, SubjectHistoryReader } from "../ports/evidence.js";
import type { Logger } from "../ports/logger.js";
import {
  initialModel,
  modelVersion,
  publishModel,
  RISK_MODEL_SUBJECT,
  RiskLearner,
  verifyPublishedModel,
  type RiskModel,
} from "../risk/learning/index.js";

export interface ModelInForce {
  readonly model: RiskModel;
  readonly version: string;
}

export interface SharedRiskModelDependencies {
  history: DecisionHistoryReader & SubjectHistoryReader;
  evidence: EvidenceRecorder;
  signingKey: { privateKey: KeyObject; publicKey: KeyObject; keyId: string };
  actor: string;
  logger: Logger;
}

export class SharedRiskModel {
  private inForce: ModelInForce;
  private readonly learner: RiskLearner;
  private rejectedSeq = -1;

  constructor(private readonly deps: SharedRiskModelDependencies) {
    const model = initialModel();
    this.inForce = { model, version: modelVersion(model) };
    this.learner = new RiskLearner(deps.history);
  }

  /** The model to score with now; always one with a name. */
  current(): ModelInForce {
    return this.inForce;
  }

  /** Takes the newest verified `risk.model` record of the ledger; a record that fails to verify is logged and skipped. */
  async refresh(): Promise<ModelInForce> {
    const record = await this.deps.history.latestForSubject(RISK_MODEL_SUBJECT);
    if (!record || record.type !== "risk.model") return this.inForce;
    const verified = verifyPublishedModel(record.data, this.deps.signingKey.publicKey);
    if ("error" in verified) {
      if (record.seq !== this.rejectedSeq)
        this.deps.logger.warn(
          { seq: record.seq, inForce: this.inForce.version },
          `risk model record ${record.seq} is not used: ${verified.error}; scoring stays with ${this.inForce.version}`,
        );
      this.rejectedSeq = record.seq;
      return this.inForce;
    }
    this.inForce = verified;
    return this.inForce;
  }

  /**
   * Learns from the decisions appended since the last call and, when that changes the weights,
   * publishes the new version (a signed `risk.model` record) and scores with it from now on.
   */
  async train(reason: "schedule" | "on demand"): Promise<{ model: ModelInForce; published: boolean; learnt: number }> {
    const learnt = await this.learner.refresh();
    const model = this.learner.model;
    const version = modelVersion(model);
    await this.refresh();
    if (version === this.inForce.version) return { model: this.inForce, published: false, learnt };
    const published = publishModel(model, this.deps.signingKey);
    await this.deps.evidence.record({
      id: `risk-model:${version}`,
      type: "risk.model",
      subject: RISK_MODEL_SUBJECT,
      actor: this.deps.actor,
      data: { ...published, previous: this.inForce.version, reason },
    });
    this.inForce = { model, version };
    this.deps.logger.info({ version, trainedOn: model.trainedOn, reason }, "risk model trained and published");
    return { model: this.inForce, published: true, learnt };
  }
}

/** How often every replica looks for a newer published model. */
export const RISK_MODEL_REFRESH_MS = 30_000;
/**
 * Every replica refreshes the model in force every 30 s; the leader also retrains every
 * `trainEveryMs` from the process's start (0: never on a schedule; a new leader picks up the
 * published model from the ledger meanwhile). Returns the stop function.
 */
export function startRiskModelUpkeep(
  shared: SharedRiskModel,
  isLeader: () => boolean,
  trainEveryMs: number,
  logger: Logger,
): () => void {
  let lastTrained = Date.now();
  let running = false;
  const tick = async (): Promise<void> => {
    if (running) return;
    running = true;
    try {
      if (trainEveryMs > 0 && isLeader() && Date.now() - lastTrained >= trainEveryMs) {
        lastTrained = Date.now();
        await shared.train("schedule");
      } else {
        await shared.refresh();
      }
    } catch (err) {
      logger.warn({ err }, "risk model upkeep failed; scoring stays with the model in force");
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void tick(), RISK_MODEL_REFRESH_MS);
  timer.unref();
  return () => clearInterval(timer);
}
