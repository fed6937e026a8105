// Signed checkpoints over the Merkle root, shaped after Rekor's `{origin, size, rootHash}` plus a
// timestamp. The signature covers a domain-separated canonical encoding, so a signature made for
// anything else can never pass as a checkpoint signature.
import type { KeyObject } from "node:crypto";
import { sign, verify } from "node:crypto";
import { z } from "zod";
import { canonicalJson } from "../../json/canonical-json.js";
import { DIGEST_PATTERN } from "./hashing.js";
import type { SigningKey } from "./signing.js";
import { keyIdOf } from "./signing.js";

export interface Checkpoint {
  /** Names the log, e.g. `aegis.valina.ai/evidence`. */
  readonly origin: string;
  /** Number of records covered (seq 0 … size-1). */
  readonly size: number;
  readonly rootHash: string;
  /** RFC 3339 UTC time at which the checkpoint was made. */
  readonly timestamp: string;
}

export interface SignedCheckpoint {
  readonly checkpoint: Checkpoint;
  readonly keyId: string;
  /** Ed25519 signature, 128 lower-case hex digits (hex, not base64: one spelling per value). */
  readonly signature: string;
}

const SIGNATURE_CONTEXT = "aegis.valina.ai/evidence-checkpoint/v1\n";

export const checkpointSchema = z.strictObject({
  origin: z.string().min(1).max(256),
  size: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
  rootHash: z.string().regex(DIGEST_PATTERN),
  timestamp: z.iso.datetime({ offset: false, precision: 3 }),
});

export const signedCheckpointSchema = z.strictObject({
  checkpoint: checkpointSchema,
  keyId: z.string().regex(DIGEST_PATTERN),
  signature: z.string().regex(/^[0-9a-f]{128}$/, "expected 128 lower-case hex digits"),
});

function signedMessage(checkpoint: Checkpoint): Buffer {
  const { origin, size, rootHash, timestamp } = checkpoint;
  return Buffer.from(SIGNATURE_CONTEXT + canonicalJson({ origin, size, rootHash, timestamp }), "utf8");
}

export function signCheckpoint(checkpoint: Checkpoint, key: SigningKey): SignedCheckpoint {
  const signature = sign(null, signedMessage(checkpoint), key.privateKey).toString("hex");
  return { checkpoint, keyId: key.keyId, signature };
}

export type CheckpointVerification = { ok: true } | { ok: false; reason: string };

/** Checks the signature and that `keyId` names `publicKey`. */
export function verifyCheckpoint(signed: SignedCheckpoint, publicKey: KeyObject): CheckpointVerification {
  const actualKeyId = keyIdOf(publicKey);
  if (signed.keyId !== actualKeyId) {
    return { ok: false, reason: `checkpoint names key ${signed.keyId} but the public key is ${actualKeyId}` };
  }
  const valid = verify(null, signedMessage(signed.checkpoint), publicKey, Buffer.from(signed.signature, "hex"));
  return valid ? { ok: true } : { ok: false, reason: "checkpoint signature does not verify with the public key" };
}
