// Labelled examples from the evidence ledger (DESIGN §5): each ApprovalRequest decided Approved or
// Rejected, with the risk factors of the admission.decision that created it. The ledger answers
// through the DecisionHistoryReader port (src/ports/evidence.ts); the query lives with the table.
import type { DecisionHistoryReader } from "../../ports/evidence.js";
import type { LabelledExample } from "./model.js";

function factorNames(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((factor: unknown) => {
    const name = typeof factor === "object" && factor !== null ? (factor as { name?: unknown }).name : undefined;
    return typeof name === "string" ? [name] : [];
  });
}

/** Decided requests in ledger order, after `afterSeq` (for incremental updates), at most `limit`. */
export async function readTrainingExamples(
  history: DecisionHistoryReader,
  options: { afterSeq?: number; limit?: number } = {},
): Promise<(LabelledExample & { seq: number })[]> {
  const decided = await history.decidedRequests(options.afterSeq ?? -1, options.limit ?? 100_000);
  return decided.map((request) => ({
    seq: request.seq,
    id: request.subject,
    at: request.time,
    approved: request.outcome === "Approved",
    factors: factorNames(request.riskFactors),
  }));
}
