// The checkpoint AEGIS publishes in its own namespace: ConfigMap aegis-evidence-checkpoint,
// holding the newest checkpoint (C2SP note and JSON), the public key and the consistency proof
// from the one it replaced. The webhook admits a change only when the new checkpoint is signed by
// AEGIS's key and the log only grew (RFC 9162 §2.1.4): the object is a witness inside the
// cluster that a database superuser cannot reach, and nobody can roll it back or delete it
// while the webhook stands. Pure: the guard (webhook/checkpoint-guard.ts) and the publisher
// (evidence/publish/configmap-publisher.ts) share these functions.
import type { KeyObject } from "node:crypto";
import { canonicalJson } from "../../json/canonical-json.js";
import type { StoredCheckpoint } from "./bundle.js";
import type { SignedCheckpoint } from "./checkpoint.js";
import { signedCheckpointSchema, verifyCheckpoint } from "./checkpoint.js";
import { digestBytes } from "./hashing.js";
import { verifyConsistency } from "./merkle.js";
import { openCheckpointNote } from "./note.js";
import { keyIdOf, publicKeyToPem } from "./signing.js";

export const PUBLISHED_CHECKPOINT_NAME = "aegis-evidence-checkpoint";

/** The ConfigMap's data keys. */
export const PUBLISHED_KEYS = {
  note: "checkpoint",
  json: "checkpoint.json",
  publicKey: "publicKey",
  keyId: "keyId",
  previousSize: "previousSize",
  consistency: "consistency",
} as const;

export type PublishedData = Readonly<Record<string, string>>;

export interface PublishedView {
  readonly signed: SignedCheckpoint;
  readonly note: string;
  readonly previousSize: number;
  readonly consistency: readonly Buffer[];
}

/** The data AEGIS writes: `checkpoint` replaces one of `previousSize` records, proved by `consistency`. */
export function publishedData(
  stored: StoredCheckpoint,
  note: string,
  previousSize: number,
  consistency: readonly Buffer[],
): PublishedData {
  return {
    [PUBLISHED_KEYS.note]: note,
    [PUBLISHED_KEYS.json]: canonicalJson(stored.checkpoint),
    [PUBLISHED_KEYS.publicKey]: stored.publicKey,
    [PUBLISHED_KEYS.keyId]: stored.checkpoint.keyId,
    [PUBLISHED_KEYS.previousSize]: String(previousSize),
    [PUBLISHED_KEYS.consistency]: consistency.map((node) => node.toString("base64")).join("\n"),
  };
}

/** Reads and checks published data against the log key: both forms signed by it, and saying the same. */
export function readPublished(
  data: PublishedData | undefined,
  publicKey: KeyObject,
): { ok: true; view: PublishedView } | { ok: false; reason: string } {
  if (data === undefined) return { ok: false, reason: "it has no data" };
  const note = data[PUBLISHED_KEYS.note] ?? "";
  const opened = openCheckpointNote(note, publicKey);
  if (!opened.ok) return { ok: false, reason: `${PUBLISHED_KEYS.note}: ${opened.reason}` };
  let json: unknown;
  try {
    json = JSON.parse(data[PUBLISHED_KEYS.json] ?? "");
  } catch {
    return { ok: false, reason: `${PUBLISHED_KEYS.json} is not JSON` };
  }
  const parsed = signedCheckpointSchema.safeParse(json);
  if (!parsed.success) return { ok: false, reason: `${PUBLISHED_KEYS.json} is not a signed checkpoint` };
  const signed = parsed.data;
  const signature = verifyCheckpoint(signed, publicKey);
  if (!signature.ok) return { ok: false, reason: `${PUBLISHED_KEYS.json}: ${signature.reason}` };
  const { origin, size, rootHash } = opened.checkpoint;
  const same = signed.checkpoint;
  if (same.origin !== origin || same.size !== size || same.rootHash !== rootHash) {
    return { ok: false, reason: `${PUBLISHED_KEYS.note} and ${PUBLISHED_KEYS.json} describe different checkpoints` };
  }
  if (
    data[PUBLISHED_KEYS.publicKey] !== publicKeyToPem(publicKey) ||
    data[PUBLISHED_KEYS.keyId] !== keyIdOf(publicKey)
  ) {
    return { ok: false, reason: `${PUBLISHED_KEYS.publicKey} and ${PUBLISHED_KEYS.keyId} must be the log key's` };
  }
  const previousText = data[PUBLISHED_KEYS.previousSize] ?? "";
  if (!/^(0|[1-9][0-9]{0,15})$/.test(previousText))
    return { ok: false, reason: `${PUBLISHED_KEYS.previousSize} is not a size` };
  const proofText = data[PUBLISHED_KEYS.consistency] ?? "";
  const consistency = proofText === "" ? [] : proofText.split("\n").map((line) => Buffer.from(line, "base64"));
  if (
    consistency.some((node, index) => node.length !== 32 || node.toString("base64") !== proofText.split("\n")[index])
  ) {
    return { ok: false, reason: `${PUBLISHED_KEYS.consistency} is not base64 hashes, one per line` };
  }
  return { ok: true, view: { signed, note, previousSize: Number(previousText), consistency } };
}

export type PublishedChange = { allowed: true } | { allowed: false; reason: string };

/**
 * May the published object go from `before` to `after` (undefined: absent, i.e. CREATE or
 * DELETE)? Only forward, only signed by the log key, only with a consistency proof.
 */
export function checkPublishedChange(
  before: PublishedData | undefined,
  after: PublishedData | undefined,
  publicKey: KeyObject,
): PublishedChange {
  if (after === undefined) {
    return { allowed: false, reason: "the published evidence checkpoint is append-only: it cannot be deleted" };
  }
  const next = readPublished(after, publicKey);
  if (!next.ok) return { allowed: false, reason: `the new checkpoint is not AEGIS's: ${next.reason}` };
  if (before === undefined) return { allowed: true };
  const previous = readPublished(before, publicKey);
  // A stored object that is not a valid checkpoint (written before the webhook existed) may be
  // replaced by a valid one: there is no history in it to protect.
  if (!previous.ok) return { allowed: true };
  const from = previous.view.signed.checkpoint;
  const to = next.view.signed.checkpoint;
  if (to.origin !== from.origin)
    return { allowed: false, reason: `the log's origin cannot change (${from.origin} → ${to.origin})` };
  if (to.size < from.size) {
    return {
      allowed: false,
      reason: `the published checkpoint cannot go back from ${from.size} records to ${to.size}`,
    };
  }
  if (to.size === from.size) {
    return to.rootHash === from.rootHash
      ? { allowed: true }
      : { allowed: false, reason: `another root at the same size ${to.size}: the log was forked or rewritten` };
  }
  if (next.view.previousSize !== from.size) {
    return {
      allowed: false,
      reason: `the consistency proof starts at ${next.view.previousSize} records, the published checkpoint has ${from.size}`,
    };
  }
  const consistent = verifyConsistency({
    oldSize: from.size,
    oldRoot: digestBytes(from.rootHash),
    newSize: to.size,
    newRoot: digestBytes(to.rootHash),
    proof: next.view.consistency,
  });
  return consistent
    ? { allowed: true }
    : {
        allowed: false,
        reason: `the log of ${to.size} records does not extend the published one of ${from.size}: it was rewritten`,
      };
}
