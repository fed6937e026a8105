// The evidence ledger: the EvidenceRecorder every decision path writes through (DESIGN §5).
//
// Path of a record:
//   record() → in-memory queue → one batch per transaction → PostgreSQL/PGlite
//                             ↘ database failing, or spool not empty → spool file (fsync)
//   spool → background drain, in order, idempotent by id → database
// `record()` resolves when its batch is committed or fsync'd to the spool. While the spool holds
// anything, new records go behind it, so this replica's records reach the chain in the order
// they were recorded. A record is never held only in memory: when the spool cannot be written
// either (disk full, read-only), record() rejects and the gate denies. `failClosed` goes further:
// the spool is no place for new records, so record() rejects whenever the database does not
// commit them (it denies admissions for as long as the database is down).
import { randomUUID } from "node:crypto";
import type { EvidenceEvent, EvidenceRecord, EvidenceRecorder } from "../ports/evidence.js";
import type { Logger } from "../ports/logger.js";
import { silentLogger } from "../ports/logger.js";
import { sleep, systemClock } from "../runtime/clock.js";
import type { EvidenceBundle } from "./chain/bundle.js";
import { canonicalJson } from "../json/canonical-json.js";
import type { ChainHead, RecordDraft } from "./chain/record.js";
import { recordDraftSchema } from "./chain/record.js";
import type { EvidenceHealth } from "./readiness.js";
import type { SigningKey } from "./chain/signing.js";
import type { ExportOptions } from "./export.js";
import { DEFAULT_ORIGIN, exportBundle } from "./export.js";
import type { Spool, SpoolEntry } from "./spool.js";
import type { EvidenceStore } from "./store/evidence-store.js";
import type { MigrationReport } from "./store/migrations.js";

export interface EvidenceLedgerOptions {
  readonly store: EvidenceStore;
  readonly spool: Spool;
  readonly signingKey: SigningKey;
  /** Applies the schema; retried before the next append while it fails (database down at start). */
  readonly migrate: () => Promise<MigrationReport>;
  readonly origin?: string;
  /**
   * Reject `record()` unless the database commits the record: while the database is down (or the
   * spool still drains), new records are not spooled and record() rejects. Default false: they
   * are spooled and record() resolves once fsync'd. Either way, a record that reaches neither the
   * database nor the spool rejects.
   */
  readonly failClosed?: boolean;
  readonly maxBatchSize?: number;
  /**
   * How long record() waits for the database before spooling the batch instead (default 2000).
   * A hung server (no reset, no refusal) must not hold admission requests for the full query
   * timeout; the abandoned transaction may still commit, which the id-idempotent drain absorbs.
   */
  readonly appendTimeoutMs?: number;
  readonly retryDelayMs?: { readonly initial: number; readonly max: number };
  readonly logger?: Logger;
  readonly now?: () => Date;
  /** Called last by close(), e.g. to close the database pool the ledger was given. */
  readonly onClose?: () => Promise<void>;
}

/** Plain counters and gauges, for /metrics. */
export interface EvidenceLedgerMetrics {
  /** Records accepted by record() and not yet committed or spooled. */
  readonly queueDepth: number;
  /** Records waiting in the spool for the database. */
  readonly spoolDepth: number;
  /** Records this process appended to the database (directly or from the spool). */
  readonly appendedTotal: number;
  /** Records skipped because the ledger already held their id (replays, retries). */
  readonly duplicateTotal: number;
  readonly spooledTotal: number;
  /** Records whose record() was rejected (nowhere durable, or the database down with failClosed). */
  readonly rejectedTotal: number;
  /** Records the spool could not write (disk full, read-only, closed): each was rejected. */
  readonly spoolWriteFailuresTotal: number;
  /** Age of the oldest record not yet in the database, in seconds (0 when none waits). */
  readonly lagSeconds: number;
  readonly databaseReachable: boolean;
}

interface Pending {
  readonly draft: RecordDraft;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

export class EvidenceLedger implements EvidenceRecorder {
  private readonly queue: Pending[] = [];
  private intake: Promise<void> | undefined;
  private drain: Promise<void> | undefined;
  private schema: Promise<MigrationReport> | undefined;
  private closing = false;
  private readonly stop = new AbortController();
  private readonly counters = { appended: 0, duplicates: 0, spooled: 0, rejected: 0, spoolWriteFailures: 0 };
  private databaseReachable = true;
  private lastRejectedAt: Date | undefined;
  private readonly failClosed: boolean;
  private readonly maxBatchSize: number;
  private readonly logger: Logger;
  private readonly now: () => Date;

  constructor(private readonly options: EvidenceLedgerOptions) {
    this.failClosed = options.failClosed ?? false;
    this.maxBatchSize = options.maxBatchSize ?? 500;
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? ((): Date => new Date());
    this.kickDrain();
  }

  get publicKeyPem(): string {
    return this.options.signingKey.publicKeyPem;
  }

  /** The store, for read-only views (GET /api/evidence). */
  get store(): EvidenceStore {
    return this.options.store;
  }

  get keyId(): string {
    return this.options.signingKey.keyId;
  }

  /**
   * The evidence key, for what AEGIS signs beside checkpoints so that only its own key can vouch
   * for it (the published risk model). Never leaves the process.
   */
  get signingKey(): SigningKey {
    return this.options.signingKey;
  }

  /** Resolves once the record is committed to the database or fsync'd to the spool. */
  record(event: EvidenceEvent): Promise<void> {
    if (this.closing) return Promise.reject(new Error("evidence ledger is closed"));
    let draft: RecordDraft;
    try {
      draft = this.toDraft(event);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ draft, resolve, reject });
      this.kickIntake();
    });
  }

  /** Waits until every record accepted so far is committed or spooled. */
  async flush(): Promise<void> {
    while (this.intake !== undefined) await this.intake;
  }

  /** Waits until the spool is empty (every record in the database), or throws after `timeoutMs`. */
  async waitUntilDrained(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    await this.flush();
    while (this.options.spool.depth > 0) {
      if (Date.now() > deadline) {
        throw new Error(`evidence spool still holds ${this.options.spool.depth} records after ${timeoutMs} ms`);
      }
      await sleep(systemClock, 20);
    }
  }

  async exportBundle(options: ExportOptions = {}): Promise<EvidenceBundle> {
    await this.ensureSchema();
    const { store, signingKey } = this.options;
    return exportBundle(
      { store, key: signingKey, origin: this.options.origin ?? DEFAULT_ORIGIN, now: this.now() },
      options,
    );
  }

  /** Where the chain in the database ends (records still spooled are not counted). */
  async head(): Promise<ChainHead> {
    await this.ensureSchema();
    return this.options.store.head();
  }

  /** Records from `fromSeq` on, at most `limit`, in seq order, as stored (for the REST API). */
  async range(fromSeq: number, limit: number): Promise<EvidenceRecord[]> {
    await this.ensureSchema();
    return this.options.store.range(fromSeq, limit);
  }

  get metrics(): EvidenceLedgerMetrics {
    return {
      queueDepth: this.queue.length,
      spoolDepth: this.options.spool.depth,
      appendedTotal: this.counters.appended,
      duplicateTotal: this.counters.duplicates,
      spooledTotal: this.counters.spooled,
      rejectedTotal: this.counters.rejected,
      spoolWriteFailuresTotal: this.counters.spoolWriteFailures,
      lagSeconds: this.lagSeconds(),
      databaseReachable: this.databaseReachable,
    };
  }

  /** What readiness asks of the ledger (src/evidence/readiness.ts decides). */
  get health(): EvidenceHealth {
    return { accepting: !this.closing, lastRejectedAt: this.lastRejectedAt };
  }

  /** Stops accepting records, settles the queued ones (database or spool), stops the drain. */
  async close(): Promise<void> {
    this.closing = true;
    await this.flush();
    this.stop.abort();
    await this.drain;
    await this.options.spool.close();
    await this.options.onClose?.();
  }

  private toDraft(event: EvidenceEvent): RecordDraft {
    let data: Record<string, unknown>;
    try {
      // Round-trip through canonical JSON: what is stored and spooled is exactly what is hashed,
      // and later changes to the caller's object cannot reach the record.
      data = JSON.parse(canonicalJson(event.data)) as Record<string, unknown>;
    } catch (err) {
      throw new Error(`evidence event ${event.type} for ${event.subject}: data is not JSON: ${String(err)}`, {
        cause: err,
      });
    }
    const draft = {
      id: event.id ?? randomUUID(),
      time: this.now().toISOString(),
      type: event.type,
      subject: event.subject,
      actor: event.actor,
      data,
    };
    const checked = recordDraftSchema.safeParse(draft);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      throw new Error(
        `evidence event ${event.type} for ${event.subject}: ${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}`,
      );
    }
    return draft;
  }

  private kickIntake(): void {
    if (this.intake !== undefined) return;
    this.intake = this.runIntake().finally(() => {
      this.intake = undefined;
      // A record queued while this run was finishing would otherwise wait for the next one.
      if (this.queue.length > 0) this.kickIntake();
    });
  }

  // One batch at a time: while a batch is in flight the queue fills up, so batches grow with
  // load and throughput does not hinge on one round trip per record.
  private async runIntake(): Promise<void> {
    while (this.queue.length > 0) {
      await this.settleBatch(this.queue.splice(0, this.maxBatchSize));
    }
  }

  private async settleBatch(batch: readonly Pending[]): Promise<void> {
    const drafts = batch.map((pending) => pending.draft);
    let databaseError: unknown = new Error(
      `${this.options.spool.depth} earlier records still wait in the spool for the database`,
    );
    if (this.options.spool.depth === 0) {
      try {
        await this.appendWithinDeadline(drafts);
        for (const pending of batch) pending.resolve();
        return;
      } catch (err) {
        this.noteDatabaseFailure(err, drafts.length);
        databaseError = err;
      }
    }
    if (this.failClosed) {
      this.reject(
        batch,
        new Error(
          `evidence not committed to the database and --evidence-fail-closed refuses the spool: ${errorText(databaseError)}`,
          { cause: databaseError },
        ),
      );
      this.kickDrain();
      return;
    }
    await this.spoolBatch(batch);
  }

  private async spoolBatch(batch: readonly Pending[]): Promise<void> {
    try {
      await this.options.spool.append(batch.map((pending) => pending.draft));
      this.counters.spooled += batch.length;
      for (const pending of batch) pending.resolve();
    } catch (err) {
      // Never resolve a record that is only in memory: the decision it belongs to is denied.
      this.counters.spoolWriteFailures += batch.length;
      this.logger.error(
        { err, path: this.options.spool.path, records: batch.length },
        "evidence: neither the database nor the spool took the records; record() rejects (admissions denied)",
      );
      this.reject(
        batch,
        new Error(`evidence could not be made durable: not committed to the database, and ${errorText(err)}`, {
          cause: err,
        }),
      );
    }
    this.kickDrain();
  }

  private reject(batch: readonly Pending[], reason: Error): void {
    this.counters.rejected += batch.length;
    this.lastRejectedAt = this.now();
    for (const pending of batch) pending.reject(reason);
  }

  private async appendWithinDeadline(drafts: readonly RecordDraft[]): Promise<void> {
    const timeoutMs = this.options.appendTimeoutMs ?? 2_000;
    const append = this.appendToDatabase(drafts);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    try {
      if ((await Promise.race([append, deadline])) !== "timeout") return;
    } finally {
      clearTimeout(timer);
    }
    append.catch((err: unknown) => {
      this.logger.warn(
        { err, records: drafts.length },
        "evidence: abandoned append failed; its records are in the spool",
      );
    });
    throw new Error(`evidence: the database did not commit ${drafts.length} records within ${timeoutMs} ms`);
  }

  private async appendToDatabase(drafts: readonly RecordDraft[]): Promise<void> {
    await this.ensureSchema();
    const outcome = await this.options.store.append(drafts);
    this.counters.appended += outcome.appended.length;
    this.counters.duplicates += outcome.duplicates;
    if (!this.databaseReachable) this.logger.info({}, "evidence: database reachable again");
    this.databaseReachable = true;
  }

  private ensureSchema(): Promise<MigrationReport> {
    this.schema ??= this.options.migrate().catch((err: unknown) => {
      this.schema = undefined; // try again on the next append
      throw err;
    });
    return this.schema;
  }

  private noteDatabaseFailure(err: unknown, records: number): void {
    if (this.databaseReachable) this.logger.warn({ err, records }, "evidence: database append failed; spooling");
    this.databaseReachable = false;
  }

  private kickDrain(): void {
    if (this.drain !== undefined || this.stop.signal.aborted) return;
    this.drain = this.runDrain().finally(() => {
      this.drain = undefined;
      if (!this.stop.signal.aborted && this.options.spool.peek(1).length > 0) this.kickDrain();
    });
  }

  private async runDrain(): Promise<void> {
    const delays = this.options.retryDelayMs ?? { initial: 100, max: 5_000 };
    let delay = delays.initial;
    while (!this.stop.signal.aborted) {
      const entries = this.options.spool.peek(this.maxBatchSize * 4);
      if (entries.length === 0) return;
      if (await this.drainOnce(entries)) {
        delay = delays.initial;
        continue;
      }
      // Full jitter, so replicas that lost the database together do not retry in lockstep.
      await sleep(systemClock, delay / 2 + Math.random() * (delay / 2), this.stop.signal);
      delay = Math.min(delay * 2, delays.max);
    }
  }

  private async drainOnce(entries: readonly SpoolEntry[]): Promise<boolean> {
    try {
      await this.appendToDatabase(entries.map((entry) => entry.draft));
    } catch (err) {
      this.noteDatabaseFailure(err, entries.length);
      return false;
    }
    try {
      await this.options.spool.release(entries);
    } catch (err) {
      // The records are in the database; a spool file left longer is replayed and skipped by id.
      this.logger.error({ err, path: this.options.spool.path }, "evidence: cannot empty the drained spool file");
    }
    return true;
  }

  private lagSeconds(): number {
    const oldest = [this.options.spool.oldestTime, this.queue[0]?.draft.time]
      .filter((time): time is string => time !== undefined)
      .map((time) => Date.parse(time));
    if (oldest.length === 0) return 0;
    return Math.max(0, (this.now().getTime() - Math.min(...oldest)) / 1000);
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
