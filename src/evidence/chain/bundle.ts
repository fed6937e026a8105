// Evidence bundles: what `aegis evidence export` writes and `verify` checks offline, with the
// public key as the only other input (DESIGN §5). Building and verifying are pure functions.
import type { KeyObject } from "node:crypto";
import { z } from "zod";
import type { Checkpoint, SignedCheckpoint } from "./checkpoint.js";
import { signCheckpoint, signedCheckpointSchema, verifyCheckpoint } from "./checkpoint.js";
import { canonicalJson } from "../../json/canonical-json.js";
import { DIGEST_PREFIX, toDigest } from "./hashing.js";
import { MerkleTree, recordLeafHash, verifyInclusion } from "./merkle.js";
import type { EvidenceRecord } from "../../ports/evidence.js";
import { checkRecord, verifyChain } from "./verify-chain.js";
import type { SigningKey } from "./signing.js";
import { parsePublicKeyPem } from "./signing.js";

export const BUNDLE_FORMAT = "aegis.valina.ai/evidence-bundle/v1";

/** Which records a filtered export holds. All given conditions must hold. */
export interface BundleFilter {
  readonly subject?: string | undefined;
  readonly sinceSeq?: number | undefined;
  /** RFC 3339 UTC with milliseconds; compares with the record's `time`. */
  readonly sinceTime?: string | undefined;
}

export interface EvidenceBundle {
  readonly format: typeof BUNDLE_FORMAT;
  /** `full`: every record from seq 0, checked as one chain. `filtered`: a subset with inclusion proofs. */
  readonly kind: "full" | "filtered";
  readonly filter?: BundleFilter;
  readonly records: readonly EvidenceRecord[];
  /** Filtered bundles only: `proofs[i]` places `records[i]` at leaf `records[i].seq`, hex siblings bottom-up. */
  readonly proofs?: readonly (readonly string[])[];
  /** Signed over the Merkle root of the whole log at export time, not just the exported records. */
  readonly checkpoint: SignedCheckpoint;
  readonly publicKey: string;
}

export type BundleVerification =
  | {
      readonly ok: true;
      readonly kind: EvidenceBundle["kind"];
      readonly records: number;
      readonly checkpoint: Checkpoint;
      readonly keyId: string;
    }
  | { readonly ok: false; readonly seq?: number; readonly reason: string };

export interface VerifyOptions {
  /** When given, the bundle's key must be one of these key ids: proves who signed, not only consistency. */
  readonly trustedKeyIds?: readonly string[];
}

const hex32 = z.string().regex(/^[0-9a-f]{64}$/, "expected 64 lower-case hex digits");

export const bundleFilterSchema = z.strictObject({
  subject: z.string().min(1).optional(),
  sinceSeq: z.number().int().nonnegative().optional(),
  sinceTime: z.iso.datetime({ offset: false, precision: 3 }).optional(),
});

// Records stay `unknown` here so that a bad record is reported by its seq, not as a bad bundle.
const bundleEnvelopeSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT),
  kind: z.enum(["full", "filtered"]),
  filter: bundleFilterSchema.optional(),
  records: z.array(z.unknown()),
  proofs: z.array(z.array(hex32)).optional(),
  checkpoint: signedCheckpointSchema,
  publicKey: z.string(),
});
type BundleEnvelope = z.infer<typeof bundleEnvelopeSchema>;

interface BuildContext {
  readonly key: SigningKey;
  readonly origin: string;
  readonly now: Date;
}

/** A bundle of the whole log. `records` must be the complete log in seq order. */
export function buildFullBundle(records: readonly EvidenceRecord[], context: BuildContext): EvidenceBundle {
  const tree = new MerkleTree(records.map((r) => recordLeafHash(r.hash)));
  return {
    format: BUNDLE_FORMAT,
    kind: "full",
    records,
    checkpoint: signTree(tree, context),
    publicKey: context.key.publicKeyPem,
  };
}

/**
 * A bundle of some records. `logHashes` are the hashes of the whole log in seq order (the tree
 * the checkpoint covers); `records` the selected ones in seq order.
 */
export function buildFilteredBundle(
  logHashes: readonly string[],
  records: readonly EvidenceRecord[],
  filter: BundleFilter,
  context: BuildContext,
): EvidenceBundle {
  const tree = new MerkleTree(logHashes.map(recordLeafHash));
  const proofs = records.map((r) => tree.inclusionProof(r.seq).map((sibling) => sibling.toString("hex")));
  return {
    format: BUNDLE_FORMAT,
    kind: "filtered",
    filter,
    records,
    proofs,
    checkpoint: signTree(tree, context),
    publicKey: context.key.publicKeyPem,
  };
}

function signTree(tree: MerkleTree, context: BuildContext): SignedCheckpoint {
  const checkpoint: Checkpoint = {
    origin: context.origin,
    size: tree.size,
    rootHash: toDigest(tree.root),
    timestamp: context.now.toISOString(),
  };
  return signCheckpoint(checkpoint, context.key);
}

/** Bundles are written as RFC 8785 JSON plus a newline, so every byte is significant (see verifyBundleText). */
export function serializeBundle(bundle: EvidenceBundle): string {
  return `${canonicalJson(bundle)}\n`;
}

/**
 * Verifies a bundle as written by serializeBundle. Besides verifyBundle's checks, the text must
 * be exactly the canonical encoding of what it holds, so any changed byte fails, even one that
 * leaves the parsed values equal (e.g. `1E+21` for `1e+21`).
 */
export function verifyBundleText(input: string | Uint8Array, options: VerifyOptions = {}): BundleVerification {
  const decoded = decodeUtf8(input);
  if (!decoded.ok) return decoded;
  const text = decoded.text.endsWith("\n") ? decoded.text.slice(0, -1) : decoded.text;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `bundle is not valid JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
  const result = verifyBundle(parsed, options);
  if (!result.ok) return result;
  return checkCanonicalText(text, parsed, result);
}

function decodeUtf8(input: string | Uint8Array): { ok: true; text: string } | { ok: false; reason: string } {
  if (typeof input === "string") return { ok: true, text: input };
  try {
    return { ok: true, text: new TextDecoder("utf-8", { fatal: true }).decode(input) };
  } catch (err) {
    return { ok: false, reason: `bundle is not valid UTF-8: ${String(err)}` };
  }
}

function checkCanonicalText(text: string, parsed: unknown, verified: BundleVerification): BundleVerification {
  const canonical = canonicalJson(parsed);
  if (canonical === text) return verified;
  let offset = 0;
  while (offset < text.length && text[offset] === canonical[offset]) offset++;
  const reason = `bundle text differs from its canonical encoding at character ${offset} (altered after export)`;
  const seq = recordAtOffset(canonical, (parsed as BundleEnvelope).records, offset);
  return seq === undefined ? { ok: false, reason } : { ok: false, seq, reason };
}

// Maps a character offset in the canonical text to the record whose encoding spans it.
function recordAtOffset(canonical: string, records: readonly unknown[], offset: number): number | undefined {
  const marker = '"records":[';
  let start = canonical.indexOf(marker) + marker.length;
  for (const record of records) {
    const end = start + canonicalJson(record).length;
    if (offset >= start && offset < end) return claimedSeq(record);
    start = end + 1;
  }
  return undefined;
}

/** Verifies a parsed bundle: records, chain or inclusion proofs, checkpoint signature. Pure. */
export function verifyBundle(candidate: unknown, options: VerifyOptions = {}): BundleVerification {
  const parsed = bundleEnvelopeSchema.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `malformed bundle: ${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}` };
  }
  const bundle = parsed.data;
  const recordsResult = bundle.kind === "full" ? verifyFullRecords(bundle) : verifyFilteredRecords(bundle);
  if (!recordsResult.ok) return recordsResult;
  const keyResult = verifySignature(bundle, options);
  if (!keyResult.ok) return keyResult;
  return {
    ok: true,
    kind: bundle.kind,
    records: bundle.records.length,
    checkpoint: bundle.checkpoint.checkpoint,
    keyId: bundle.checkpoint.keyId,
  };
}

type Outcome = { ok: true } | { ok: false; seq?: number; reason: string };

function verifyFullRecords(bundle: BundleEnvelope): Outcome {
  if (bundle.filter !== undefined || bundle.proofs !== undefined) {
    return { ok: false, reason: "a full bundle carries neither filter nor proofs" };
  }
  const chain = verifyChain(bundle.records);
  if (!chain.ok) return { ok: false, seq: chain.break.seq, reason: chain.break.reason };
  const { size, rootHash } = bundle.checkpoint.checkpoint;
  if (chain.size < size) {
    return {
      ok: false,
      seq: chain.size,
      reason: `record missing: the bundle ends before seq ${chain.size} but the checkpoint covers ${size} records (truncated)`,
    };
  }
  if (chain.size > size) {
    return {
      ok: false,
      seq: size,
      reason: `record beyond the checkpoint: the checkpoint covers ${size} records, the bundle holds ${chain.size}`,
    };
  }
  const records = bundle.records as EvidenceRecord[];
  const root = toDigest(new MerkleTree(records.map((r) => recordLeafHash(r.hash))).root);
  if (root !== rootHash) {
    return { ok: false, reason: `Merkle root of the records ${root} differs from the checkpoint's ${rootHash}` };
  }
  return { ok: true };
}

function verifyFilteredRecords(bundle: BundleEnvelope): Outcome {
  const { filter, proofs, records } = bundle;
  if (filter === undefined || proofs === undefined)
    return { ok: false, reason: "a filtered bundle needs filter and proofs" };
  if (proofs.length !== records.length) {
    return { ok: false, reason: `${records.length} records but ${proofs.length} inclusion proofs` };
  }
  let previous: EvidenceRecord | undefined;
  for (const [index, candidate] of records.entries()) {
    const outcome = checkFilteredRecord(candidate, proofs[index] ?? [], previous, bundle);
    if (!outcome.ok)
      return { ok: false, seq: claimedSeq(candidate) ?? (previous ? previous.seq + 1 : 0), reason: outcome.reason };
    previous = outcome.record;
  }
  return checkSuffixComplete(records as EvidenceRecord[], filter, bundle.checkpoint.checkpoint.size);
}

/**
 * A `sinceSeq`-only export is a suffix of the log, so it must hold every seq from sinceSeq to
 * the checkpoint's size: a deleted record is then detected, as in a full bundle. (Other filters
 * cannot prove completeness with inclusion proofs alone.)
 */
function checkSuffixComplete(records: readonly EvidenceRecord[], filter: BundleFilter, size: number): Outcome {
  if (filter.sinceSeq === undefined || filter.subject !== undefined || filter.sinceTime !== undefined)
    return { ok: true };
  let expected = Math.min(filter.sinceSeq, size);
  for (const record of records) {
    if (record.seq !== expected)
      return { ok: false, seq: expected, reason: `record missing from the exported suffix (found seq ${record.seq})` };
    expected++;
  }
  if (expected < size)
    return {
      ok: false,
      seq: expected,
      reason: `record missing: the suffix ends before seq ${expected}, the checkpoint covers ${size}`,
    };
  return { ok: true };
}

type FilteredCheck = { ok: true; record: EvidenceRecord } | { ok: false; reason: string };

function checkFilteredRecord(
  candidate: unknown,
  proof: readonly string[],
  previous: EvidenceRecord | undefined,
  bundle: BundleEnvelope,
): FilteredCheck {
  const checked = checkRecord(candidate);
  if (!checked.ok) return checked;
  const { record } = checked;
  if (previous !== undefined && record.seq <= previous.seq) {
    return { ok: false, reason: `out of order: seq ${record.seq} follows seq ${previous.seq}` };
  }
  if (previous !== undefined && record.seq === previous.seq + 1 && record.prevHash !== previous.hash) {
    return { ok: false, reason: `prevHash does not match the hash of seq ${previous.seq}` };
  }
  if (!matchesFilter(record, bundle.filter ?? {})) {
    return { ok: false, reason: `record does not match the bundle's filter ${canonicalJson(bundle.filter)}` };
  }
  const { size, rootHash } = bundle.checkpoint.checkpoint;
  const included = verifyInclusion({
    leafHash: recordLeafHash(record.hash),
    index: record.seq,
    size,
    proof: proof.map((sibling) => Buffer.from(sibling, "hex")),
    root: Buffer.from(rootHash.slice(DIGEST_PREFIX.length), "hex"),
  });
  return included
    ? checked
    : {
        ok: false,
        reason: `inclusion proof does not place this record at seq ${record.seq} in the checkpointed log of ${size}`,
      };
}

export function matchesFilter(record: EvidenceRecord, filter: BundleFilter): boolean {
  if (filter.subject !== undefined && record.subject !== filter.subject) return false;
  if (filter.sinceSeq !== undefined && record.seq < filter.sinceSeq) return false;
  // Both sides are fixed-width RFC 3339 UTC (schema-checked), so text order is time order.
  if (filter.sinceTime !== undefined && record.time < filter.sinceTime) return false;
  return true;
}

function verifySignature(bundle: BundleEnvelope, options: VerifyOptions): Outcome {
  let publicKey: KeyObject;
  try {
    publicKey = parsePublicKeyPem(bundle.publicKey);
  } catch (err) {
    return { ok: false, reason: `bundle public key: ${err instanceof Error ? err.message : String(err)}` };
  }
  const signature = verifyCheckpoint(bundle.checkpoint, publicKey);
  if (!signature.ok) return signature;
  const trusted = options.trustedKeyIds;
  if (trusted !== undefined && !trusted.includes(bundle.checkpoint.keyId)) {
    return { ok: false, reason: `checkpoint signed by ${bundle.checkpoint.keyId}, which is not a trusted key` };
  }
  return { ok: true };
}

/** The seq a possibly malformed record claims, when it claims one. */
function claimedSeq(candidate: unknown): number | undefined {
  if (typeof candidate !== "object" || candidate === null) return undefined;
  const seq = (candidate as { seq?: unknown }).seq;
  return typeof seq === "number" && Number.isSafeInteger(seq) && seq >= 0 ? seq : undefined;
}

/**
 * Checks that `current` (a full bundle) extends `previous` (a full bundle kept from an earlier
 * export): both verify, and every record of the earlier one is still there, unchanged. This
 * catches what a single bundle cannot: someone with database rights who rewrote history and
 * recomputed every later hash. Names the first seq that differs.
 */
export function verifyExtends(previous: unknown, current: unknown, options: VerifyOptions = {}): BundleVerification {
  const earlier = verifyBundle(previous, options);
  if (!earlier.ok) return { ...earlier, reason: `earlier bundle: ${earlier.reason}` };
  const later = verifyBundle(current, options);
  if (!later.ok) return later;
  if (earlier.kind !== "full" || later.kind !== "full")
    return { ok: false, reason: "only full bundles can be compared" };
  const before = (previous as EvidenceBundle).records;
  const after = (current as EvidenceBundle).records;
  for (const [seq, record] of before.entries()) {
    const now = after[seq];
    if (now === undefined)
      return {
        ok: false,
        seq,
        reason: `record missing: the earlier bundle holds seq ${seq}, the later one ends before it`,
      };
    if (now.hash !== record.hash) {
      return {
        ok: false,
        seq,
        reason: `history rewritten: seq ${seq} had hash ${record.hash} in the earlier bundle, now ${now.hash}`,
      };
    }
  }
  return later;
}
