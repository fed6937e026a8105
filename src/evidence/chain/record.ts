// The evidence record (DESIGN §5) and how it is sealed into the chain.
//
// Record layout: {seq, id, time, type, subject, actor, data, prevHash, hash}.
// `id` is not in DESIGN §5's list but is part of the hashed record on purpose: it is the
// idempotency key (EvidenceEvent.id), so a spool replay or a retry after a lost COMMIT reply can
// be recognised as "already appended", and an auditor can match a record to the decision that
// produced it. `hash = "sha256:" + hex(sha256(JCS(record without hash)))`.
import { z } from "zod";
import { canonicalJson } from "../../json/canonical-json.js";
import type { EvidenceRecord } from "../../ports/evidence.js";
import { DIGEST_PATTERN, GENESIS_PREV_HASH, sha256Bytes, toDigest } from "./hashing.js";

/** What the ledger knows about an event before it has a place in the chain: a record without seq, prevHash and hash. */
export type RecordDraft = Omit<EvidenceRecord, "seq" | "prevHash" | "hash">;

/** Where the next record attaches: the next seq and the hash it must point back to. */
export interface ChainHead {
  readonly nextSeq: number;
  readonly prevHash: string;
}

export const EMPTY_CHAIN_HEAD: ChainHead = { nextSeq: 0, prevHash: GENESIS_PREV_HASH };

const digest = z.string().regex(DIGEST_PATTERN, "expected sha256:<64 lower-case hex>");
// Text fields are stored in PostgreSQL `text` columns, which cannot hold NUL.
const safeText = (max: number): z.ZodString =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !s.includes("\u0000"), "must not contain NUL");

export const recordDraftSchema = z.strictObject({
  id: safeText(256),
  time: z.iso.datetime({ offset: false, precision: 3 }),
  type: safeText(128),
  subject: safeText(1024),
  actor: safeText(1024),
  data: z.record(z.string(), z.unknown()),
});

/** Strict: an unknown or misspelt field in a bundle is a break, not something to ignore. */
export const evidenceRecordSchema = recordDraftSchema.extend({
  seq: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  prevHash: digest,
  hash: digest,
});

// The schemas parse exactly the port's shapes: a field added to one side only fails to compile.
type SameShape<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemasMatchTheRecordType: [
  SameShape<z.infer<typeof recordDraftSchema>, RecordDraft>,
  SameShape<z.infer<typeof evidenceRecordSchema>, EvidenceRecord>,
] = [true, true];
void schemasMatchTheRecordType;

export function computeRecordHash(record: Omit<EvidenceRecord, "hash">): string {
  const { seq, id, time, type, subject, actor, data, prevHash } = record;
  // Members in RFC 8785 order: with data already canonical (as the ledger's drafts are), the
  // serialiser writes it without copying.
  return toDigest(sha256Bytes(canonicalJson({ actor, data, id, prevHash, seq, subject, time, type })));
}

/**
 * computeRecordHash from the record's own canonical text (JCS including `hash`), for verifiers
 * that serialise each record once anyway: JCS sorts members, so `hash` sits between `data` and
 * `id`, and dropping one member of a JCS object leaves the JCS of the rest. The top-level member
 * is the last `"hash":"…",` in the text: after it come only strings and a number, in which an
 * unescaped quote cannot occur.
 */
export function recordHashFromCanonicalText(text: string, claimedHash: string): string {
  const member = `"hash":${JSON.stringify(claimedHash)},`;
  const at = text.lastIndexOf(member);
  if (at < 0) return computeRecordHash(JSON.parse(text) as EvidenceRecord);
  return toDigest(sha256Bytes(text.slice(0, at), text.slice(at + member.length)));
}

export function sealRecord(draft: RecordDraft, head: ChainHead): EvidenceRecord {
  const unsealed = { ...pickDraft(draft), seq: head.nextSeq, prevHash: head.prevHash };
  return { ...unsealed, hash: computeRecordHash(unsealed) };
}

/** Seals drafts one after the other, each pointing at the previous one's hash. */
export function sealChain(drafts: readonly RecordDraft[], head: ChainHead): EvidenceRecord[] {
  const sealed: EvidenceRecord[] = [];
  let current = head;
  for (const draft of drafts) {
    const record = sealRecord(draft, current);
    sealed.push(record);
    current = { nextSeq: record.seq + 1, prevHash: record.hash };
  }
  return sealed;
}

export function headAfter(record: EvidenceRecord): ChainHead {
  return { nextSeq: record.seq + 1, prevHash: record.hash };
}

// Copies only the draft fields, so extra properties on the caller's object never reach the hash.
function pickDraft(draft: RecordDraft): RecordDraft {
  const { id, time, type, subject, actor, data } = draft;
  return { id, time, type, subject, actor, data };
}
