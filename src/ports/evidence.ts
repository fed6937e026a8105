/**
 * What the rest of AEGIS hands to the evidence ledger (DESIGN §5). The ledger assigns `seq`,
 * `time`, `prevHash` and `hash`; callers say what happened, to what, and who did it.
 */
export type EvidenceType =
  | "admission.decision"
  | "approval.decision"
  | "approval.transition"
  | "approval.expired"
  | "policy.change"
  | "selfhealing.action"
  | "threat.detected";

export interface EvidenceEvent {
  /** What kind of record this is. */
  readonly type: EvidenceType;
  /** The object the record is about, e.g. `Deployment/prod/web` or `ApprovalRequest/prod/deployment-web-3f2a9c1b0d`. */
  readonly subject: string;
  /** The authenticated identity that caused it (AdmissionReview userInfo, TokenReview, Slack), or `system:aegis`. */
  readonly actor: string;
  /** Type-specific, JSON-serialisable details (the decision, the policies' spec hashes, the risk factors…). */
  readonly data: Readonly<Record<string, unknown>>;
  /**
   * Idempotency key: a record with an id the ledger already holds is not appended twice
   * (spool replays, retries after a lost reply). Defaults to a random UUID when absent.
   */
  readonly id?: string;
}

/** The port every decision path writes through. Resolves once the record is durable (database or spool). */
export interface EvidenceRecorder {
  record(event: EvidenceEvent): Promise<void>;
}
