// Reads and appends evidence records in SQL. One total order across replicas comes from the
// database itself: every append takes the same transaction-scoped advisory lock, then reads the
// head and inserts its batch with consecutive seqs and chained hashes. The lock (rather than
// `SELECT … FOR UPDATE` on the head row) also covers the empty table, where there is no row to
// lock, and it is released by COMMIT/ROLLBACK even when a replica dies mid-transaction.
// UNIQUE(seq), UNIQUE(prev_hash) and the link trigger make a fork impossible even for a writer
// that skipped the lock.
import type { BundleFilter, StoredCheckpoint } from "../chain/bundle.js";
import { canonicalJson } from "../../json/canonical-json.js";
import type {
  AdmittedChangeQuery,
  ApprovedChangeReader,
  DecidedRequest,
  DecisionHistoryReader,
  SubjectHistoryReader,
  EvidenceRecord,
  EvidenceRecordSource,
} from "../../ports/evidence.js";
import type { ChainHead, RecordDraft } from "../chain/record.js";
import { EMPTY_CHAIN_HEAD, sealChain } from "../chain/record.js";
import { ADVISORY_LOCK_NAMESPACE, APPEND_LOCK_KEY, CHECKPOINT_LOCK_KEY } from "./migrations.js";
import { admittedChangeHashes, decidedRequests } from "./queries.js";
import type { SqlDatabase, SqlExecutor, SqlRow } from "./sql-database.js";
import { sqlState } from "./sql-database.js";

export interface AppendOutcome {
  /** Records inserted by this call, in seq order. */
  readonly appended: readonly EvidenceRecord[];
  /** Ids already in the ledger (a replay or retry), and repeated ids within the batch. */
  readonly duplicates: number;
}

export interface LogSnapshot {
  /** Hashes of the whole log, seq 0 … n-1: the leaves of the checkpointed tree. */
  readonly hashes: readonly string[];
  readonly records: readonly EvidenceRecord[];
  /** Checkpoints stored by `aegis serve`, oldest first (none before migration 2). */
  readonly checkpoints: readonly StoredCheckpoint[];
}

const RECORD_COLUMNS = "seq, id, event_time, type, subject, actor, data, prev_hash, hash";
// Deadlock and serialization failures are transient; the append closure keeps no state, so
// running it again is safe (Trillian's ReadWriteTransaction contract).
const RETRYABLE_STATES = new Set(["40001", "40P01"]);
const MAX_ATTEMPTS = 3;
const PAGE_SIZE = 5_000;

/**
 * The ledger table: appends for the ledger, and the read ports the rest of AEGIS uses. Reads need
 * only `query`, so a second connection pool (self-healing's) can back a store of its own.
 */
export class EvidenceStore
  implements EvidenceRecordSource, ApprovedChangeReader, DecisionHistoryReader, SubjectHistoryReader
{
  constructor(private readonly db: SqlDatabase) {}

  get backend(): SqlDatabase["backend"] {
    return this.db.backend;
  }

  /**
   * Appends drafts in order, skipping ids the ledger already holds, in one transaction.
   * Idempotent by id: replaying the same drafts appends nothing and keeps the chain intact.
   */
  async append(drafts: readonly RecordDraft[]): Promise<AppendOutcome> {
    if (drafts.length === 0) return { appended: [], duplicates: 0 };
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db.transaction((tx) => appendLocked(tx, drafts));
      } catch (err) {
        const state = sqlState(err);
        if (attempt >= MAX_ATTEMPTS || state === undefined || !RETRYABLE_STATES.has(state)) throw err;
      }
    }
  }

  async head(): Promise<ChainHead> {
    return readHead(this.db);
  }

  async count(): Promise<number> {
    const { rows } = await this.db.query("SELECT count(*) AS n FROM evidence_records");
    return Number(rows[0]?.n ?? 0);
  }

  /** Every record, or those matching `filter`, plus the whole log's hashes, from one consistent snapshot. */
  async snapshot(filter?: BundleFilter): Promise<LogSnapshot> {
    return this.db.transaction(async (tx) => {
      await tx.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY");
      const records = await readRecords(tx, filter ?? {});
      const hashes = filter === undefined ? records.map((r) => r.hash) : await readHashes(tx);
      return { hashes, records, checkpoints: await readCheckpoints(tx) };
    });
  }

  /** Visits the hashes of the first `size` records in seq order, a page at a time (never the whole log in memory). */
  async scanHashes(size: number, visit: (hash: string) => void): Promise<void> {
    await scanHashes(this.db, size, visit);
  }

  /** Stored checkpoints, oldest first. */
  async checkpoints(): Promise<StoredCheckpoint[]> {
    return readCheckpoints(this.db);
  }

  /**
   * Under a cluster-wide lock, reads the whole log and the newest stored checkpoint, and stores
   * what `sign` makes of them (nothing when it returns undefined). Replicas signing at the same
   * moment therefore store strictly growing checkpoints, never two of one size.
   */
  async appendCheckpoint(
    sign: (scanLog: LogScan, previous: StoredCheckpoint | undefined) => Promise<StoredCheckpoint | undefined>,
  ): Promise<StoredCheckpoint | undefined> {
    return this.db.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock($1::int, $2::int)", [ADVISORY_LOCK_NAMESPACE, CHECKPOINT_LOCK_KEY]);
      const stored = await readCheckpoints(tx, 1);
      const { nextSeq } = await readHead(tx);
      const next = await sign((visit) => scanHashes(tx, nextSeq, visit), stored[0]);
      if (next === undefined) return undefined;
      const { checkpoint, keyId, signature } = next.checkpoint;
      await tx.query(
        `INSERT INTO evidence_checkpoints (size, origin, root_hash, signed_at, key_id, public_key, signature)
         VALUES ($1, $2, $3, $4, $5, $6, $7)`,
        [
          checkpoint.size,
          checkpoint.origin,
          checkpoint.rootHash,
          checkpoint.timestamp,
          keyId,
          next.publicKey,
          signature,
        ],
      );
      return next;
    });
  }

  /** Records from `fromSeq` on, at most `limit`, in seq order. */
  async range(fromSeq: number, limit: number): Promise<EvidenceRecord[]> {
    const { rows } = await this.db.query(
      `SELECT ${RECORD_COLUMNS} FROM evidence_records WHERE seq >= $1 ORDER BY seq LIMIT $2`,
      [fromSeq, limit],
    );
    return rows.map(rowToRecord);
  }

  async latestForSubject(subject: string): Promise<EvidenceRecord | undefined> {
    const { rows } = await this.db.query(
      `SELECT ${RECORD_COLUMNS} FROM evidence_records WHERE subject = $1 ORDER BY seq DESC LIMIT 1`,
      [subject],
    );
    return rows[0] === undefined ? undefined : rowToRecord(rows[0]);
  }

  admittedChangeHashes(query: AdmittedChangeQuery): Promise<ReadonlySet<string>> {
    return admittedChangeHashes(this.db, query);
  }

  decidedRequests(afterSeq: number, limit: number): Promise<DecidedRequest[]> {
    return decidedRequests(this.db, afterSeq, limit);
  }
}

async function appendLocked(tx: SqlExecutor, drafts: readonly RecordDraft[]): Promise<AppendOutcome> {
  await tx.query("SELECT pg_advisory_xact_lock($1::int, $2::int)", [ADVISORY_LOCK_NAMESPACE, APPEND_LOCK_KEY]);
  // READ COMMITTED takes a fresh snapshot per statement, so these reads, made after the lock is
  // held, see everything the previous holder committed.
  const fresh = await withoutKnownIds(tx, uniqueById(drafts));
  if (fresh.length === 0) return { appended: [], duplicates: drafts.length };
  const records = sealChain(fresh, await readHead(tx));
  await insertRecords(tx, records);
  return { appended: records, duplicates: drafts.length - fresh.length };
}

function uniqueById(drafts: readonly RecordDraft[]): RecordDraft[] {
  const seen = new Set<string>();
  return drafts.filter((draft) => !seen.has(draft.id) && seen.add(draft.id));
}

async function withoutKnownIds(tx: SqlExecutor, drafts: readonly RecordDraft[]): Promise<RecordDraft[]> {
  const { rows } = await tx.query("SELECT id FROM evidence_records WHERE id = ANY($1::text[])", [
    drafts.map((d) => d.id),
  ]);
  const known = new Set(rows.map((row) => String(row.id)));
  return drafts.filter((draft) => !known.has(draft.id));
}

async function readHead(executor: SqlExecutor): Promise<ChainHead> {
  const { rows } = await executor.query("SELECT seq, hash FROM evidence_records ORDER BY seq DESC LIMIT 1");
  const last = rows[0];
  if (last === undefined) return EMPTY_CHAIN_HEAD;
  return { nextSeq: toSeq(last.seq) + 1, prevHash: String(last.hash) };
}

// One statement per batch: unnest() turns parallel arrays into rows, so a batch costs one round
// trip whatever its size, and the SQL text stays constant.
async function insertRecords(tx: SqlExecutor, records: readonly EvidenceRecord[]): Promise<void> {
  await tx.query(
    `INSERT INTO evidence_records (${RECORD_COLUMNS})
     SELECT seq, id, event_time, type, subject, actor, data::json, prev_hash, hash
       FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
         AS batch(seq, id, event_time, type, subject, actor, data, prev_hash, hash)
      ORDER BY seq`,
    [
      records.map((r) => r.seq),
      records.map((r) => r.id),
      records.map((r) => r.time),
      records.map((r) => r.type),
      records.map((r) => r.subject),
      records.map((r) => r.actor),
      records.map((r) => canonicalJson(r.data)),
      records.map((r) => r.prevHash),
      records.map((r) => r.hash),
    ],
  );
}

async function readRecords(tx: SqlExecutor, filter: BundleFilter): Promise<EvidenceRecord[]> {
  const { clauses, params } = filterClauses(filter);
  const records: EvidenceRecord[] = [];
  for (let fromSeq = filter.sinceSeq ?? 0; ;) {
    const page = await tx.query(
      `SELECT ${RECORD_COLUMNS} FROM evidence_records
        WHERE seq >= $1 ${clauses.map((c) => `AND ${c}`).join(" ")}
        ORDER BY seq LIMIT ${PAGE_SIZE}`,
      [fromSeq, ...params],
    );
    records.push(...page.rows.map(rowToRecord));
    const last = records[records.length - 1];
    if (page.rows.length < PAGE_SIZE || last === undefined) return records;
    fromSeq = last.seq + 1;
  }
}

function filterClauses(filter: BundleFilter): { clauses: string[]; params: unknown[] } {
  const clauses: string[] = [];
  const params: unknown[] = [];
  if (filter.subject !== undefined) {
    params.push(filter.subject);
    clauses.push(`subject = $${params.length + 1}`);
  }
  if (filter.sinceTime !== undefined) {
    params.push(filter.sinceTime);
    // Byte order: fixed-width RFC 3339 UTC text sorts as time, whatever the database collation.
    clauses.push(`event_time COLLATE "C" >= $${params.length + 1}`);
  }
  return { clauses, params };
}

/** Visits record hashes in seq order; see EvidenceStore.scanHashes. */
export type LogScan = (visit: (hash: string) => void) => Promise<void>;

const HASH_PAGE = 10_000;

async function scanHashes(executor: SqlExecutor, size: number, visit: (hash: string) => void): Promise<void> {
  for (let from = 0; from < size; from += HASH_PAGE) {
    const { rows } = await executor.query(
      "SELECT seq, hash FROM evidence_records WHERE seq >= $1 AND seq < $2 ORDER BY seq",
      [from, Math.min(size, from + HASH_PAGE)],
    );
    for (const [offset, row] of rows.entries()) {
      // seq is contiguous from 0 under the append lock; a gap means rows were removed behind it.
      if (Number(row.seq) !== from + offset) {
        throw new Error(
          `evidence log has a gap: expected seq ${from + offset}, found ${String(row.seq)} (records deleted)`,
        );
      }
      visit(String(row.hash));
    }
    if (rows.length < Math.min(size, from + HASH_PAGE) - from) {
      throw new Error(
        `evidence log ends at seq ${from + rows.length}, before the head's ${size} records (records deleted)`,
      );
    }
  }
}

async function readHashes(tx: SqlExecutor): Promise<string[]> {
  const { rows } = await tx.query("SELECT hash FROM evidence_records ORDER BY seq");
  return rows.map((row) => String(row.hash));
}

// `newest`: only the newest n, still returned oldest first. A database migrated before
// evidence_checkpoints existed has none (export is read-only and never migrates).
async function readCheckpoints(executor: SqlExecutor, newest?: number): Promise<StoredCheckpoint[]> {
  const { rows: present } = await executor.query("SELECT to_regclass('evidence_checkpoints') IS NOT NULL AS present");
  if (present[0]?.present !== true) return [];
  const { rows } = await executor.query(
    `SELECT size, origin, root_hash, signed_at, key_id, public_key, signature FROM evidence_checkpoints
      ORDER BY size DESC ${newest === undefined ? "" : `LIMIT ${Math.floor(newest)}`}`,
  );
  return rows.reverse().map((row) => ({
    checkpoint: {
      checkpoint: {
        origin: String(row.origin),
        size: toSeq(row.size),
        rootHash: String(row.root_hash),
        timestamp: String(row.signed_at),
      },
      keyId: String(row.key_id),
      signature: String(row.signature),
    },
    publicKey: String(row.public_key),
  }));
}

function toSeq(value: unknown): number {
  const seq = Number(value);
  if (!Number.isSafeInteger(seq) || seq < 0) throw new Error(`evidence_records holds an invalid seq: ${String(value)}`);
  return seq;
}

/** Rows become records as stored; verification, not this reader, decides whether they are intact. */
function rowToRecord(row: SqlRow): EvidenceRecord {
  return {
    seq: toSeq(row.seq),
    id: String(row.id),
    time: String(row.event_time),
    type: String(row.type),
    subject: String(row.subject),
    actor: String(row.actor),
    data: row.data as Record<string, unknown>,
    prevHash: String(row.prev_hash),
    hash: String(row.hash),
  };
}
