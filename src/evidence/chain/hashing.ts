// Digests shared by records, Merkle leaves and checkpoints. What is hashed is RFC 8785 (JCS)
// text from src/json/canonical-json.ts, the one canonical serialiser.
import { hash } from "node:crypto";

/** Every digest in the ledger is written `sha256:<64 lower-case hex>`. */
export const DIGEST_PREFIX = "sha256:";
export const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** `prevHash` of the record at seq 0: there is nothing before it. */
export const GENESIS_PREV_HASH = `${DIGEST_PREFIX}${"0".repeat(64)}`;

export function sha256Bytes(...parts: readonly (string | Uint8Array)[]): Buffer {
  // One-shot crypto.hash over the joined input: cheaper than a Hash object per call.
  const input =
    parts.length === 1
      ? (parts[0] as string | Uint8Array)
      : parts.every((part) => typeof part === "string")
        ? parts.join("")
        : Buffer.concat(parts.map((part) => (typeof part === "string" ? Buffer.from(part, "utf8") : part)));
  return hash("sha256", input, "buffer");
}

export function toDigest(bytes: Uint8Array): string {
  return DIGEST_PREFIX + Buffer.from(bytes).toString("hex");
}

/** The 32 raw bytes behind a `sha256:<hex>` digest; throws when the text is not one. */
export function digestBytes(digest: string): Buffer {
  if (!DIGEST_PATTERN.test(digest)) {
    throw new TypeError(`not a sha256 digest: ${JSON.stringify(digest.slice(0, 80))}`);
  }
  return Buffer.from(digest.slice(DIGEST_PREFIX.length), "hex");
}
