// Read-only questions other parts of AEGIS ask of the ledger table, answered here so that the
// table's layout (columns, the JSON paths into `data`) stays inside src/evidence. They run through
// SqlExecutor, so on PostgreSQL or PGlite alike; the (subject, seq) index serves both.
import type { AdmittedChangeQuery, DecidedRequest } from "../../ports/evidence.js";
import type { SqlExecutor } from "./sql-database.js";

type Reader = Pick<SqlExecutor, "query">;

export const ADMITTED_CHANGE_HASHES_SQL = `
SELECT DISTINCT data->>'changeHash' AS change_hash FROM evidence_records
 WHERE subject = $1 AND type = 'admission.decision'
   AND data->>'allowed' = 'true' AND data->>'reason' = ANY($2::text[]) AND data->>'changeHash' = ANY($3::text[])`;

/** Which of the query's changeHashes an allowed admission.decision for its subject, with one of its reasons, carries. */
export async function admittedChangeHashes(db: Reader, query: AdmittedChangeQuery): Promise<ReadonlySet<string>> {
  if (query.changeHashes.length === 0 || query.reasons.length === 0) return new Set();
  const { rows } = await db.query(ADMITTED_CHANGE_HASHES_SQL, [
    query.subject,
    [...query.reasons],
    [...query.changeHashes],
  ]);
  return new Set(rows.map((row) => String(row["change_hash"])));
}

// Each approval.transition to Approved or Rejected, joined with the admission.decision that
// created its request (same target and changeHash, carrying the risk factors).
export const DECIDED_REQUESTS_SQL = `
SELECT t.seq, t.event_time, t.subject, t.data->>'to' AS outcome, d.factors
  FROM evidence_records t
  JOIN LATERAL (
    SELECT r.data->'risk'->'factors' AS factors
      FROM evidence_records r
     WHERE r.type = 'admission.decision'
       AND r.subject = (t.data->'target'->>'kind') || '/' || (t.data->'target'->>'namespace') || '/' || (t.data->'target'->>'name')
       AND r.data->>'changeHash' = t.data->>'changeHash'
       AND r.data->'risk' IS NOT NULL
     ORDER BY r.seq
     LIMIT 1
  ) d ON true
 WHERE t.type = 'approval.transition' AND t.data->>'to' IN ('Approved', 'Rejected') AND t.seq > $1
 ORDER BY t.seq
 LIMIT $2`;

/** Decided ApprovalRequests in ledger order, after `afterSeq`, at most `limit`. */
export async function decidedRequests(db: Reader, afterSeq: number, limit: number): Promise<DecidedRequest[]> {
  const { rows } = await db.query(DECIDED_REQUESTS_SQL, [afterSeq, limit]);
  return rows.map((row) => ({
    seq: Number(row["seq"]),
    subject: String(row["subject"]),
    time: String(row["event_time"]),
    outcome: row["outcome"] === "Approved" ? "Approved" : "Rejected",
    riskFactors: jsonColumn(row["factors"]),
  }));
}

/** A json column as a value: drivers hand it over parsed, or as JSON text. */
function jsonColumn(value: unknown): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value;
  }
}
