// Reads labelled examples from the evidence ledger (DESIGN §5): each approval.transition to
// Approved or Rejected, joined with the admission.decision that created its request (same
// target and changeHash, carrying the risk factors). Through the SqlExecutor port, so it runs on
// PostgreSQL or PGlite alike; the ledger table's (subject, seq) index serves the join.
import type { SqlExecutor } from "../../evidence/store/sql-database.js";
import type { LabelledExample } from "./model.js";

export const TRAINING_EXAMPLES_SQL = `
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

function factorNames(value: unknown): string[] {
  const parsed: unknown = typeof value === "string" ? JSON.parse(value) : value;
  if (!Array.isArray(parsed)) return [];
  return parsed.flatMap((factor: unknown) => {
    const name = typeof factor === "object" && factor !== null ? (factor as { name?: unknown }).name : undefined;
    return typeof name === "string" ? [name] : [];
  });
}

/** Decided requests in ledger order, after `afterSeq` (for incremental updates), at most `limit`. */
export async function readTrainingExamples(
  db: Pick<SqlExecutor, "query">,
  options: { afterSeq?: number; limit?: number } = {},
): Promise<(LabelledExample & { seq: number })[]> {
  const { rows } = await db.query(TRAINING_EXAMPLES_SQL, [options.afterSeq ?? -1, options.limit ?? 100_000]);
  return rows.map((row) => ({
    seq: Number(row["seq"]),
    id: String(row["subject"]),
    at: String(row["event_time"]),
    approved: row["outcome"] === "Approved",
    factors: factorNames(row["factors"]),
  }));
}
