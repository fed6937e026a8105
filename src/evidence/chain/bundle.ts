// Evidence bundles: what `aegis evidence export` writes and `verify` checks offline, with the
// public key as the only other input (DESIGN §5). Building and verifying are pure functions.
import type { KeyObject } from "node:crypto";
import { z } from "zod";
import type { Checkpoint, SignedCheckpoint } from "./checkpoint.js";
import { signCheckpoint, signedCheckpointSchema, verifyCheckpoint } from "./checkpoint.js";
import { canonicalJson } from "../../json/canonical-json.js";
import { DIGEST_PREFIX, toDigest } from "./hashing.js";
import {
  CompactRange,
  consistencyProof,
  EMPTY_TREE_ROOT,
  MerkleTree,
  recordLeafHash,
  verifyConsistency,
  verifyInclusion,
} from "./merkle.js";
import type { EvidenceRecord } from "../../ports/evidence.js";
import { openCheckpointNote, parseCheckpointNoteText, parseSignedNote } from "./note.js";
import { checkRecord, verifyChain } from "./verify-chain.js";
import type { SigningKey } from "./signing.js";
import { keyIdOf, parsePublicKeyPem } from "./signing.js";

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
  /**
   * The newest checkpoint `aegis serve` signed and stored in the ledger (over the whole log, not
   * just the exported records). Absent when none was stored yet: a full bundle then proves its
   * chain only. Records of a full bundle beyond its size are chained but not yet signed.
   */
  readonly checkpoint?: SignedCheckpoint;
  /** The key the checkpoint names (never trusted by itself: verify pins a key id). */
  readonly publicKey?: string;
  /** Earlier stored checkpoints, oldest first, each with the consistency proof to the next one (the last: to `checkpoint`). */
  readonly earlier?: readonly EarlierCheckpoint[];
}

export interface EarlierCheckpoint {
  readonly checkpoint: SignedCheckpoint;
  readonly publicKey: string;
  /** RFC 9162 §2.1.4 proof, hex, that this checkpoint's tree is a prefix of the next one's. */
  readonly consistency: readonly string[];
}

/** A checkpoint as stored in the ledger by `aegis serve`, with the public key it was signed with. */
export interface StoredCheckpoint {
  readonly checkpoint: SignedCheckpoint;
  readonly publicKey: string;
}

export type BundleVerification =
  | {
      readonly ok: true;
      readonly kind: EvidenceBundle["kind"];
      readonly records: number;
      /** Absent: the bundle holds no signed checkpoint, only the chain was checked. */
      readonly checkpoint?: Checkpoint;
      readonly keyId?: string;
      /** Signed checkpoints checked (the bundle's and the earlier ones). */
      readonly checkpoints: number;
      /** Records of a full bundle after the newest checkpoint: chained, not yet signed. */
      readonly unsigned: number;
    }
  | { readonly ok: false; readonly seq?: number; readonly reason: string };

/** A checkpoint kept outside the ledger: a bundle's JSON checkpoint, or a C2SP note (a witness's or the ConfigMap's copy). */
export type KeptCheckpoint = SignedCheckpoint | { readonly note: string };

export interface VerifyOptions {
  /** When given, the bundle's key must be one of these key ids: proves who signed, not only consistency. */
  readonly trustedKeyIds?: readonly string[];
  /** A checkpoint the auditor kept: the bundle's log must extend it (same root at its size). */
  readonly keptCheckpoint?: KeptCheckpoint | undefined;
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
  checkpoint: signedCheckpointSchema.optional(),
  publicKey: z.string().optional(),
  earlier: z
    .array(z.strictObject({ checkpoint: signedCheckpointSchema, publicKey: z.string(), consistency: z.array(hex32) }))
    .optional(),
});
type BundleEnvelope = z.infer<typeof bundleEnvelopeSchema>;

/** Sign a fresh checkpoint over the whole log (what `aegis serve` stores; tests). */
export interface SigningContext {
  readonly key: SigningKey;
  readonly origin: string;
  readonly now: Date;
}

/** Ship the checkpoints stored in the ledger, oldest first (what `aegis evidence export` does: it holds no key). */
interface StoredContext {
  readonly checkpoints: readonly StoredCheckpoint[];
}

type BuildContext = SigningContext | StoredContext;

function checkpointsFor(tree: MerkleTree, context: BuildContext): readonly StoredCheckpoint[] {
  if ("checkpoints" in context) return context.checkpoints;
  return [{ checkpoint: signTree(tree, context), publicKey: context.key.publicKeyPem }];
}

/**
 * The log folded hash by hash into what the next checkpoint needs, in O(log n) memory: the root
 * of the whole log and the root of the prefix the previous checkpoint covered.
 */
export class LogFold {
  private readonly range = new CompactRange();
  private prefix: Buffer | undefined;

  constructor(private readonly previousSize: number | undefined) {
    if (previousSize === 0) this.prefix = EMPTY_TREE_ROOT;
  }

  add(recordHash: string): void {
    this.range.add(recordLeafHash(recordHash));
    if (this.range.size === this.previousSize) this.prefix = this.range.root();
  }

  get size(): number {
    return this.range.size;
  }

  root(): Buffer {
    return this.range.root();
  }

  /** MTH of the first previousSize records; undefined when the log is shorter. */
  prefixRoot(): Buffer | undefined {
    return this.prefix;
  }
}

/**
 * What `aegis serve` signs next: a checkpoint over the whole (folded) log when it grew since
 * `previous`, after checking that the log still extends `previous` (the same root over its size:
 * RFC 9162 §2.1.4 consistency, proved by recomputation). Throws when it does not: the log was
 * rewritten or truncated behind the ledger, and signing it would bless that.
 */
export function nextCheckpointOf(
  fold: LogFold,
  previous: StoredCheckpoint | undefined,
  context: SigningContext,
): StoredCheckpoint | undefined {
  const before = previous?.checkpoint.checkpoint;
  if (fold.size === 0 || fold.size === before?.size) return undefined;
  if (before !== undefined) {
    const prefix = fold.prefixRoot();
    if (fold.size < before.size || prefix === undefined || !prefix.equals(digestBuffer(before.rootHash))) {
      throw new Error(
        `evidence log does not extend the checkpoint of size ${before.size} (${before.timestamp}): it now holds ${fold.size} records with another history; not signing`,
      );
    }
  }
  const checkpoint: Checkpoint = {
    origin: context.origin,
    size: fold.size,
    rootHash: toDigest(fold.root()),
    timestamp: context.now.toISOString(),
  };
  return { checkpoint: signCheckpoint(checkpoint, context.key), publicKey: context.key.publicKeyPem };
}

/** nextCheckpointOf over a log given as its record hashes in seq order. */
export function nextCheckpoint(
  logHashes: readonly string[],
  previous: StoredCheckpoint | undefined,
  context: SigningContext,
): StoredCheckpoint | undefined {
  const fold = new LogFold(previous?.checkpoint.checkpoint.size);
  for (const hash of logHashes) fold.add(hash);
  return nextCheckpointOf(fold, previous, context);
}

/** The signed checkpoint over the first `size` leaves of the log whose record hashes are `logHashes`. */
export function signLogCheckpoint(logHashes: readonly string[], context: SigningContext): SignedCheckpoint {
  return signTree(new MerkleTree(logHashes.map(recordLeafHash)), context);
}

// `checkpoint` is the newest; `earlier` the rest with consistency proofs, computed from the log's
// leaves (checkpoints beyond the log are shipped too, so that verify names the truncation).
function checkpointFields(
  leaves: readonly Buffer[],
  stored: readonly StoredCheckpoint[],
): Pick<EvidenceBundle, "checkpoint" | "publicKey" | "earlier"> {
  const newest = stored[stored.length - 1];
  if (newest === undefined) return {};
  const earlier = stored.slice(0, -1).map((entry, index): EarlierCheckpoint => {
    const next = stored[index + 1] as StoredCheckpoint;
    const from = entry.checkpoint.checkpoint.size;
    const to = next.checkpoint.checkpoint.size;
    const proof = to <= leaves.length && from <= to ? consistencyProof(leaves, from, to) : [];
    return { ...entry, consistency: proof.map((node) => node.toString("hex")) };
  });
  return {
    checkpoint: newest.checkpoint,
    publicKey: newest.publicKey,
    ...(earlier.length > 0 ? { earlier } : {}),
  };
}

/** A bundle of the whole log. `records` must be the complete log in seq order. */
export function buildFullBundle(records: readonly EvidenceRecord[], context: BuildContext): EvidenceBundle {
  const leaves = records.map((r) => recordLeafHash(r.hash));
  const tree = new MerkleTree(leaves);
  return {
    format: BUNDLE_FORMAT,
    kind: "full",
    records,
    ...checkpointFields(leaves, checkpointsFor(tree, context)),
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
  const leaves = logHashes.map(recordLeafHash);
  const stored = checkpointsFor(new MerkleTree(leaves), context);
  const size = stored[stored.length - 1]?.checkpoint.checkpoint.size;
  if (size === undefined)
    throw new Error("a filtered export needs a signed checkpoint; aegis serve has stored none yet");
  if (size > leaves.length) {
    throw new Error(
      `the log holds ${leaves.length} records but its newest checkpoint covers ${size}: records were removed (truncated)`,
    );
  }
  // Proofs are against the newest checkpoint, so only the records it covers are exported.
  const tree = new MerkleTree(leaves.slice(0, size));
  const covered = records.filter((r) => r.seq < size);
  const proofs = covered.map((r) => tree.inclusionProof(r.seq).map((sibling) => sibling.toString("hex")));
  return {
    format: BUNDLE_FORMAT,
    kind: "filtered",
    filter,
    records: covered,
    proofs,
    ...checkpointFields(leaves, stored),
  };
}

function signTree(tree: MerkleTree, context: SigningContext): SignedCheckpoint {
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
  // Each record is serialised once: its text serves its hash and the whole-text comparison.
  const recordTexts = canonicalRecordTexts(parsed);
  const result = verifyBundleWith(parsed, options, recordTexts);
  if (!result.ok) return result;
  return checkCanonicalText(text, parsed, result, recordTexts);
}

function canonicalRecordTexts(parsed: unknown): (string | undefined)[] | undefined {
  const records = (parsed as { records?: unknown } | null)?.records;
  if (!Array.isArray(records)) return undefined;
  return records.map((record: unknown) => {
    try {
      return canonicalJson(record);
    } catch {
      return undefined; // not JSON-representable (a lone surrogate): checkRecord reports it
    }
  });
}

function decodeUtf8(input: string | Uint8Array): { ok: true; text: string } | { ok: false; reason: string } {
  if (typeof input === "string") return { ok: true, text: input };
  try {
    return { ok: true, text: new TextDecoder("utf-8", { fatal: true }).decode(input) };
  } catch (err) {
    return { ok: false, reason: `bundle is not valid UTF-8: ${String(err)}` };
  }
}

function checkCanonicalText(
  text: string,
  parsed: unknown,
  verified: BundleVerification,
  recordTexts: readonly (string | undefined)[] | undefined,
): BundleVerification {
  const canonical = canonicalBundleText(parsed, recordTexts);
  if (canonical === text) return verified;
  let offset = 0;
  while (offset < text.length && text[offset] === canonical[offset]) offset++;
  const reason = `bundle text differs from its canonical encoding at character ${offset} (altered after export)`;
  const seq = recordAtOffset(canonical, (parsed as BundleEnvelope).records, offset);
  return seq === undefined ? { ok: false, reason } : { ok: false, seq, reason };
}

// canonicalJson(parsed), reusing the records' texts: the envelope is serialised with an empty
// `records` array and the record texts are put in its place (`"records":[]` occurs once in the
// envelope: in a string its quotes would be escaped).
function canonicalBundleText(parsed: unknown, recordTexts: readonly (string | undefined)[] | undefined): string {
  if (recordTexts === undefined || recordTexts.some((text) => text === undefined)) return canonicalJson(parsed);
  const envelope = canonicalJson({ ...(parsed as Record<string, unknown>), records: [] });
  const marker = '"records":[]';
  const at = envelope.indexOf(marker);
  return `${envelope.slice(0, at)}"records":[${recordTexts.join(",")}]${envelope.slice(at + marker.length)}`;
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
  return verifyBundleWith(candidate, options, undefined);
}

function verifyBundleWith(
  candidate: unknown,
  options: VerifyOptions,
  recordTexts: readonly (string | undefined)[] | undefined,
): BundleVerification {
  const parsed = bundleEnvelopeSchema.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `malformed bundle: ${issue?.path.join(".") ?? ""}: ${issue?.message ?? "invalid"}` };
  }
  const bundle = parsed.data;
  const recordsResult =
    bundle.kind === "full" ? verifyFullRecords(bundle, recordTexts) : verifyFilteredRecords(bundle, recordTexts);
  if (!recordsResult.ok) return recordsResult;
  const keyResult = verifySignatures(bundle, options);
  if (!keyResult.ok) return keyResult;
  const kept = options.keptCheckpoint === undefined ? { ok: true as const } : verifyExtendsKept(bundle, options);
  if (!kept.ok) return kept;
  const checkpoint = bundle.checkpoint;
  const signedSize = checkpoint?.checkpoint.size ?? 0;
  return {
    ok: true,
    kind: bundle.kind,
    records: bundle.records.length,
    ...(checkpoint === undefined ? {} : { checkpoint: checkpoint.checkpoint, keyId: checkpoint.keyId }),
    checkpoints: checkpoint === undefined ? 0 : 1 + (bundle.earlier?.length ?? 0),
    unsigned: bundle.kind === "full" ? Math.max(0, bundle.records.length - signedSize) : 0,
  };
}

type Outcome = { ok: true } | { ok: false; seq?: number; reason: string };

function verifyFullRecords(bundle: BundleEnvelope, recordTexts?: readonly (string | undefined)[]): Outcome {
  if (bundle.filter !== undefined || bundle.proofs !== undefined) {
    return { ok: false, reason: "a full bundle carries neither filter nor proofs" };
  }
  const chain = verifyChain(bundle.records, undefined, recordTexts);
  if (!chain.ok) return { ok: false, seq: chain.break.seq, reason: chain.break.reason };
  if (bundle.checkpoint === undefined) return { ok: true };
  const { size, rootHash } = bundle.checkpoint.checkpoint;
  if (chain.size < size) {
    return {
      ok: false,
      seq: chain.size,
      reason: `record missing: the bundle ends before seq ${chain.size} but the checkpoint covers ${size} records (truncated)`,
    };
  }
  // Records after the newest checkpoint are chained to it but not yet signed (reported as unsigned).
  const records = (bundle.records as EvidenceRecord[]).slice(0, size);
  const root = toDigest(new MerkleTree(records.map((r) => recordLeafHash(r.hash))).root);
  if (root !== rootHash) {
    return { ok: false, reason: `Merkle root of the records ${root} differs from the checkpoint's ${rootHash}` };
  }
  return { ok: true };
}

function verifyFilteredRecords(bundle: BundleEnvelope, recordTexts?: readonly (string | undefined)[]): Outcome {
  const { filter, proofs, records } = bundle;
  if (filter === undefined || proofs === undefined)
    return { ok: false, reason: "a filtered bundle needs filter and proofs" };
  if (bundle.checkpoint === undefined) return { ok: false, reason: "a filtered bundle needs a signed checkpoint" };
  const checkpointSize = bundle.checkpoint.checkpoint.size;
  if (proofs.length !== records.length) {
    return { ok: false, reason: `${records.length} records but ${proofs.length} inclusion proofs` };
  }
  let previous: EvidenceRecord | undefined;
  for (const [index, candidate] of records.entries()) {
    const outcome = checkFilteredRecord(candidate, proofs[index] ?? [], previous, bundle, recordTexts?.[index]);
    if (!outcome.ok)
      return { ok: false, seq: claimedSeq(candidate) ?? (previous ? previous.seq + 1 : 0), reason: outcome.reason };
    previous = outcome.record;
  }
  return checkSuffixComplete(records as EvidenceRecord[], filter, checkpointSize);
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
  canonicalText: string | undefined,
): FilteredCheck {
  const checked = checkRecord(candidate, canonicalText);
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
  const { size, rootHash } = (bundle.checkpoint as SignedCheckpoint).checkpoint;
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

// Every checkpoint (the newest and each earlier one) must be signed by a trusted key, and each
// earlier one's consistency proof must show the log only grew from it to the next.
function verifySignatures(bundle: BundleEnvelope, options: VerifyOptions): Outcome {
  if (bundle.checkpoint === undefined) {
    return bundle.publicKey === undefined && bundle.earlier === undefined
      ? { ok: true }
      : { ok: false, reason: "a bundle without a checkpoint carries neither publicKey nor earlier checkpoints" };
  }
  if (bundle.publicKey === undefined) return { ok: false, reason: "the checkpoint comes without its public key" };
  const chain = [...(bundle.earlier ?? []), { checkpoint: bundle.checkpoint, publicKey: bundle.publicKey }];
  for (const [index, entry] of chain.entries()) {
    const signed = checkSigned(entry.checkpoint, entry.publicKey, options);
    if (!signed.ok)
      return { ok: false, reason: `checkpoint of size ${entry.checkpoint.checkpoint.size}: ${signed.reason}` };
    const next = chain[index + 1];
    if (next === undefined || !("consistency" in entry)) continue;
    const from = entry.checkpoint.checkpoint;
    const to = next.checkpoint.checkpoint;
    const consistent = verifyConsistency({
      oldSize: from.size,
      oldRoot: digestBuffer(from.rootHash),
      newSize: to.size,
      newRoot: digestBuffer(to.rootHash),
      proof: entry.consistency.map((node) => Buffer.from(node, "hex")),
    });
    if (!consistent) {
      return {
        ok: false,
        seq: Math.min(from.size, to.size),
        reason: `log rewritten or truncated: the checkpoint of size ${to.size} (${to.timestamp}) does not extend the one of size ${from.size} (${from.timestamp})`,
      };
    }
  }
  return { ok: true };
}

function checkSigned(signed: SignedCheckpoint, publicKeyPem: string, options: VerifyOptions): Outcome {
  let publicKey: KeyObject;
  try {
    publicKey = parsePublicKeyPem(publicKeyPem);
  } catch (err) {
    return { ok: false, reason: `bundle public key: ${err instanceof Error ? err.message : String(err)}` };
  }
  const signature = verifyCheckpoint(signed, publicKey);
  if (!signature.ok) return signature;
  const trusted = options.trustedKeyIds;
  if (trusted !== undefined && !trusted.includes(signed.keyId)) {
    return { ok: false, reason: `checkpoint signed by ${signed.keyId}, which is not a trusted key` };
  }
  return { ok: true };
}

function keyIdOfPem(pem: string): string | undefined {
  try {
    return keyIdOf(parsePublicKeyPem(pem));
  } catch {
    return undefined;
  }
}

function digestBuffer(digest: string): Buffer {
  return Buffer.from(digest.slice(DIGEST_PREFIX.length), "hex");
}

/** Size, root and how to check the signature of the checkpoint an auditor kept, whatever its form. */
interface KeptView {
  readonly size: number;
  readonly rootHash: string;
  /** How the messages name it: `your checkpoint (2026-…)` or `the witness's checkpoint`. */
  readonly label: string;
  /** Checks the kept checkpoint's own signature with a bundle key the auditor trusts. */
  verifySignature(bundle: BundleEnvelope, options: VerifyOptions): Outcome;
}

function keptView(kept: KeptCheckpoint): KeptView | { error: string } {
  if (!("note" in kept)) {
    return {
      size: kept.checkpoint.size,
      rootHash: kept.checkpoint.rootHash,
      label: `your checkpoint (${kept.checkpoint.timestamp})`,
      verifySignature: (bundle, options) => {
        const pem = bundleKeys(bundle).find((candidate) => keyIdOfPem(candidate) === kept.keyId);
        if (pem === undefined)
          return { ok: false, reason: `your checkpoint names key ${kept.keyId}, which signed nothing in this bundle` };
        const valid = checkSigned(kept, pem, options);
        return valid.ok ? valid : { ok: false, reason: `your checkpoint: ${valid.reason}` };
      },
    };
  }
  let body;
  try {
    body = parseCheckpointNoteText(parseSignedNote(kept.note).text);
  } catch (err) {
    return { error: `your checkpoint: ${err instanceof Error ? err.message : String(err)}` };
  }
  return {
    size: body.size,
    rootHash: body.rootHash,
    label: `your checkpoint note (${body.origin})`,
    verifySignature: (bundle, options) => {
      const trusted = bundleKeys(bundle).filter((pem) => {
        const id = keyIdOfPem(pem);
        return id !== undefined && (options.trustedKeyIds === undefined || options.trustedKeyIds.includes(id));
      });
      const opened = trusted.map((pem) => openCheckpointNote(kept.note, parsePublicKeyPem(pem)));
      if (opened.some((result) => result.ok)) return { ok: true };
      // No trusted key at all means the bundle lost every checkpoint that key signed: say so.
      const reason =
        opened.find((result) => !result.ok)?.reason ??
        `the bundle holds no checkpoint signed by ${options.trustedKeyIds?.join(" or ") ?? "a trusted key"}, so nothing in it vouches for this note (were the stored checkpoints deleted?)`;
      return { ok: false, reason: `your checkpoint note: ${reason}` };
    },
  };
}

function bundleKeys(bundle: BundleEnvelope): string[] {
  return [bundle.publicKey, ...(bundle.earlier ?? []).map((entry) => entry.publicKey)].filter(
    (pem): pem is string => pem !== undefined,
  );
}

/**
 * The checkpoint an auditor kept (a bundle's JSON checkpoint, or a C2SP note from a witness or
 * the published ConfigMap) must be extended by the bundle's log: a stored checkpoint of the same
 * size with the same root, or (full bundles) the same root over the first `size` records.
 */
function verifyExtendsKept(bundle: BundleEnvelope, options: VerifyOptions): Outcome {
  const view = keptView(options.keptCheckpoint as KeptCheckpoint);
  if ("error" in view) return { ok: false, reason: view.error };
  const logSize = bundle.kind === "full" ? bundle.records.length : (bundle.checkpoint?.checkpoint.size ?? 0);
  if (view.size > logSize) {
    return {
      ok: false,
      seq: logSize,
      reason: `log truncated: ${view.label} covers ${view.size} records, the bundle's log holds ${logSize}`,
    };
  }
  const same = [...(bundle.earlier ?? []), ...(bundle.checkpoint === undefined ? [] : [bundle])]
    .map((entry) => (entry.checkpoint as SignedCheckpoint).checkpoint)
    .find((checkpoint) => checkpoint.size === view.size);
  let root = same?.rootHash;
  if (root === undefined && bundle.kind === "full") {
    const records = bundle.records.slice(0, view.size) as EvidenceRecord[];
    root = toDigest(new MerkleTree(records.map((r) => recordLeafHash(r.hash))).root);
  }
  if (root === undefined) {
    return {
      ok: false,
      reason: `the bundle has no checkpoint of size ${view.size} to compare with: export a full bundle`,
    };
  }
  if (root !== view.rootHash) {
    return {
      ok: false,
      reason: `log rewritten: ${view.label} has root ${view.rootHash} at size ${view.size}, the bundle's log has ${root}`,
    };
  }
  // Failures above need no signature (a false alarm is safe); passing does.
  return view.verifySignature(bundle, options);
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
  const earlier = verifyBundle(previous, { ...options, keptCheckpoint: undefined });
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
