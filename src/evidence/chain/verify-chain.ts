// Chain verification: pure, shares no state with the writer, runnable offline (STYLE P8).
import type { EvidenceRecord } from "../../ports/evidence.js";
import type { ChainHead } from "./record.js";
import {
  computeRecordHash,
  EMPTY_CHAIN_HEAD,
  evidenceRecordSchema,
  headAfter,
  recordHashFromCanonicalText,
} from "./record.js";

/** The first record that does not verify, and why. `seq` is the position the record should hold. */
export interface ChainBreak {
  readonly seq: number;
  readonly reason: string;
}

export type ChainVerification =
  | { readonly ok: true; readonly size: number; readonly head: ChainHead }
  | { readonly ok: false; readonly break: ChainBreak };

/**
 * Checks that `records` form an unbroken chain starting at `start` (the genesis by default):
 * each is well-formed, holds the next seq, points at the previous hash and hashes to its own
 * `hash`. Stops at the first break, so a re-ordered, truncated or altered list is reported at the
 * exact position where it stops being the chain.
 */
export function verifyChain(
  records: readonly unknown[],
  start: ChainHead = EMPTY_CHAIN_HEAD,
  canonicalTexts?: readonly (string | undefined)[],
): ChainVerification {
  let head = start;
  for (const [index, candidate] of records.entries()) {
    const checked = checkLink(candidate, head, canonicalTexts?.[index]);
    if (!checked.ok) return { ok: false, break: { seq: head.nextSeq, reason: checked.reason } };
    head = headAfter(checked.record);
  }
  return { ok: true, size: head.nextSeq - start.nextSeq, head };
}

export type RecordCheck = { ok: true; record: EvidenceRecord } | { ok: false; reason: string };

/** One record against the place it must occupy. `canonicalText`: its JCS text, when the caller has it. */
export function checkLink(candidate: unknown, head: ChainHead, canonicalText?: string): RecordCheck {
  const checked = checkRecord(candidate, canonicalText);
  if (!checked.ok) return checked;
  const { record } = checked;
  if (record.seq !== head.nextSeq) {
    return {
      ok: false,
      reason: `expected seq ${head.nextSeq}, found seq ${record.seq} (records missing or re-ordered)`,
    };
  }
  if (record.prevHash !== head.prevHash) {
    return {
      ok: false,
      reason: `prevHash ${record.prevHash} does not match the previous record's hash ${head.prevHash} (this record or the previous one was altered or replaced)`,
    };
  }
  return checked;
}

/**
 * Shape and self-consistency of one record, independent of its neighbours. `canonicalText`, when
 * given, must be canonicalJson(candidate): the hash is then taken from it instead of serialising again.
 */
export function checkRecord(candidate: unknown, canonicalText?: string): RecordCheck {
  const parsed = evidenceRecordSchema.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.join(".") ?? "";
    return { ok: false, reason: `malformed record: ${where ? `${where}: ` : ""}${issue?.message ?? "invalid"}` };
  }
  // Hash the caller's object, not zod's copy: a copy that dropped or rewrote a key (e.g. a
  // "__proto__" member) could hash like the original and hide an alteration.
  const record = candidate as EvidenceRecord;
  const computed =
    canonicalText === undefined ? computeRecordHash(record) : recordHashFromCanonicalText(canonicalText, record.hash);
  if (computed !== record.hash) {
    return { ok: false, reason: `content does not match its hash: stored ${record.hash}, computed ${computed}` };
  }
  return { ok: true, record };
}
