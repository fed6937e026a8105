/**
 * What the rest of AEGIS hands to the evidence ledger (DESIGN §5). The ledger assigns `seq`,
 * `time`, `prevHash` and `hash`; callers say what happened, to what, and who did it.
 */
export type EvidenceType =
  | "admission.decision"
  | "approval.decision"
  | "approval.transition"
  | "approval.expired"
  | "access.session"
  | "exception.requested"
  | "exception.transition"
  | "risk.model"
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

/**
 * One sealed record of the ledger (DESIGN §5 layout), as stored, exported in bundles and shown by
 * `GET /api/evidence`: `hash = "sha256:" + hex(sha256(JCS(record without hash)))`. The one
 * declaration of this shape; the ledger's zod schema (src/evidence/chain/record.ts) is checked
 * against it.
 */
export interface EvidenceRecord {
  /** Position in the chain, from 0, without gaps. */
  readonly seq: number;
  /** The idempotency key ({@link EvidenceEvent.id}, or a random UUID); hashed like every other field. */
  readonly id: string;
  /** RFC 3339 UTC time at which `record()` was called (not when the row was inserted). */
  readonly time: string;
  readonly type: string;
  readonly subject: string;
  readonly actor: string;
  readonly data: Readonly<Record<string, unknown>>;
  /** `hash` of the record at seq - 1; `sha256:` and 64 zeros at seq 0. */
  readonly prevHash: string;
  readonly hash: string;
}

/** What the rest of AEGIS reads of the ledger's store (the REST API's newest records). */
export interface EvidenceRecordSource {
  /** Where the chain ends: the seq the next record will get. */
  head(): Promise<{ readonly nextSeq: number }>;
  /** Records from `fromSeq` on, at most `limit`, in seq order. */
  range(fromSeq: number, limit: number): Promise<readonly EvidenceRecord[]>;
}

export interface AdmittedChangeQuery {
  /** Record subject, `Kind/namespace/name`. */
  readonly subject: string;
  /** The changeHashes asked about. */
  readonly changeHashes: readonly string[];
  /** `data.reason`s of an allowed admission.decision that count. */
  readonly reasons: readonly string[];
}

/** The ledger's admission decisions, as self-healing asks about rollback targets. */
export interface ApprovedChangeReader {
  /** Which of `changeHashes` an allowed admission.decision record for `subject`, with one of `reasons`, carries. */
  admittedChangeHashes(query: AdmittedChangeQuery): Promise<ReadonlySet<string>>;
}

/** An ApprovalRequest decided in the ledger, with the risk factors its change was admitted with. */
export interface DecidedRequest {
  /** seq of the approval.transition record. */
  readonly seq: number;
  /** Its subject: the ApprovalRequest. */
  readonly subject: string;
  readonly time: string;
  readonly outcome: "Approved" | "Rejected";
  /**
   * `data.risk.factors` of the first admission.decision for the request's target and changeHash
   * (the one that created the request), as stored: JSON, normally `[{name, points, …}]`.
   */
  readonly riskFactors: unknown;
}

/** The ledger's decision history, as the learning risk model reads it. */
/** The newest record about one subject, e.g. the risk model in force (the (subject, seq) index answers it). */
export interface SubjectHistoryReader {
  latestForSubject(subject: string): Promise<EvidenceRecord | undefined>;
}

export interface DecisionHistoryReader {
  /**
   * approval.transition records to Approved or Rejected with seq > `afterSeq` (-1: from the start),
   * that have a matching admission.decision carrying risk, in seq order, at most `limit`.
   */
  decidedRequests(afterSeq: number, limit: number): Promise<DecidedRequest[]>;
}
