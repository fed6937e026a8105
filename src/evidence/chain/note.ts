// Checkpoints in the C2SP formats witnesses speak: a `tlog-checkpoint` body (origin, size,
// base64 root) inside a `signed-note`, signed by the log's Ed25519 key under the origin as key
// name, and `tlog-cosignature/v1` lines added by witnesses. Pure (node:crypto only).
//
// The log key signs the note text here and the JSON checkpoint in checkpoint.ts: two different
// messages (a note starts with the origin line and a decimal size line, the JSON message with
// its own context line and `{`), so neither signature can pass for the other.
import type { KeyObject } from "node:crypto";
import { createPublicKey, sign, verify } from "node:crypto";
import { DIGEST_PATTERN, DIGEST_PREFIX, sha256Bytes } from "./hashing.js";

/** signed-note signature types (C2SP signed-note §Signature types). */
const ED25519_NOTE = 0x01;
const ED25519_COSIGNATURE_V1 = 0x04;
const EM_DASH = "\u2014";
/** Verifiers must accept 16; more than this is refused as a malformed note. */
const MAX_SIGNATURES = 100;

export interface CheckpointBody {
  readonly origin: string;
  readonly size: number;
  /** `sha256:<hex>`, as everywhere else in the ledger. */
  readonly rootHash: string;
}

export interface NoteSignature {
  readonly name: string;
  /** The 4-byte key id, big-endian. */
  readonly keyId: Buffer;
  readonly signature: Buffer;
  /** The line as written, without its newline. */
  readonly line: string;
}

export interface SignedNote {
  /** The note text, ending in a newline, without the blank line and the signatures. */
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

export class MalformedNoteError extends Error {
  constructor(reason: string) {
    super(`malformed note: ${reason}`);
    this.name = "MalformedNoteError";
  }
}

/** The 32 raw bytes of an Ed25519 public key (RFC 8032 encoding). */
export function ed25519PublicKeyBytes(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: "jwk" });
  if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || typeof jwk.x !== "string") {
    throw new TypeError("expected an Ed25519 public key");
  }
  return Buffer.from(jwk.x, "base64url");
}

/** SHA-256(name || 0x0A || type || key)[:4] (signed-note's recommended key id). */
export function noteKeyId(name: string, type: number, publicKey: KeyObject): Buffer {
  return sha256Bytes(`${name}\n`, Uint8Array.of(type), ed25519PublicKeyBytes(publicKey)).subarray(0, 4);
}

/** `origin\nsize\nbase64(root)\n`: the checkpoint body every tlog tool reads. */
export function checkpointNoteText(body: CheckpointBody): string {
  checkKeyName(body.origin, "origin");
  if (!DIGEST_PATTERN.test(body.rootHash)) throw new TypeError(`root hash is not a sha256 digest: ${body.rootHash}`);
  const root = Buffer.from(body.rootHash.slice(DIGEST_PREFIX.length), "hex").toString("base64");
  return `${body.origin}\n${body.size}\n${root}\n`;
}

/** The note: the checkpoint body signed by the log key, with `origin` as the key name. */
export function signCheckpointNote(body: CheckpointBody, privateKey: KeyObject): string {
  const text = checkpointNoteText(body);
  return `${text}\n${signatureLine(body.origin, ED25519_NOTE, createPublicKey(privateKey), sign(null, Buffer.from(text, "utf8"), privateKey))}\n`;
}

function signatureLine(name: string, type: number, publicKey: KeyObject, signature: Uint8Array): string {
  return `${EM_DASH} ${name} ${Buffer.concat([noteKeyId(name, type, publicKey), signature]).toString("base64")}`;
}

/** Splits a signed note into its text and signature lines; throws MalformedNoteError. */
export function parseSignedNote(input: string | Uint8Array): SignedNote {
  const note = typeof input === "string" ? input : decodeUtf8(input);
  if (hasControlCharacter(note, true)) throw new MalformedNoteError("it holds a control character");
  if (!note.endsWith("\n")) throw new MalformedNoteError("it does not end in a newline");
  const separator = note.lastIndexOf("\n\n");
  if (separator < 0) throw new MalformedNoteError("no blank line separates the text from the signatures");
  const text = note.slice(0, separator + 1);
  const lines = note.slice(separator + 2, -1).split("\n");
  if (lines.length > MAX_SIGNATURES) throw new MalformedNoteError(`more than ${MAX_SIGNATURES} signatures`);
  const signatures = lines.map(parseSignatureLine);
  return { text, signatures };
}

function parseSignatureLine(line: string): NoteSignature {
  const match = /^\u2014 (\S+) ([A-Za-z0-9+/]+={0,2})$/u.exec(line);
  if (match === null) throw new MalformedNoteError(`not a signature line: ${JSON.stringify(line.slice(0, 120))}`);
  const [, name = "", encoded = ""] = match;
  if (name.includes("+")) throw new MalformedNoteError(`key name ${JSON.stringify(name)} holds a plus sign`);
  const bytes = Buffer.from(encoded, "base64");
  if (bytes.toString("base64") !== encoded || bytes.length < 5) {
    throw new MalformedNoteError(`signature of ${name} is not canonical base64 of a key id and a signature`);
  }
  return { name, keyId: bytes.subarray(0, 4), signature: bytes.subarray(4), line };
}

/** Reads a checkpoint body: exactly origin, size and root lines (extension lines are refused: AEGIS writes none). */
export function parseCheckpointNoteText(text: string): CheckpointBody {
  const lines = text.split("\n");
  if (lines.length !== 4 || lines[3] !== "") {
    throw new MalformedNoteError("a checkpoint is three lines: origin, tree size, base64 root hash");
  }
  const [origin = "", sizeText = "", rootText = ""] = lines;
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) {
    throw new MalformedNoteError(`tree size ${JSON.stringify(sizeText)} is not a decimal without leading zeros`);
  }
  const root = Buffer.from(rootText, "base64");
  if (root.length !== 32 || root.toString("base64") !== rootText) {
    throw new MalformedNoteError("root hash is not the base64 of 32 bytes");
  }
  return { origin, size: Number(sizeText), rootHash: `${DIGEST_PREFIX}${root.toString("hex")}` };
}

export type CheckpointNoteVerification =
  | { readonly ok: true; readonly checkpoint: CheckpointBody; readonly note: SignedNote }
  | { readonly ok: false; readonly reason: string };

/**
 * Opens a checkpoint note signed by the log key `publicKey` (name = the origin line). Signature
 * lines of other keys (witness cosignatures) are ignored, as signed-note requires; a line with
 * this key's name and id must verify.
 */
export function openCheckpointNote(input: string | Uint8Array, publicKey: KeyObject): CheckpointNoteVerification {
  let note: SignedNote;
  let checkpoint: CheckpointBody;
  try {
    note = parseSignedNote(input);
    checkpoint = parseCheckpointNoteText(note.text);
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
  const keyId = noteKeyId(checkpoint.origin, ED25519_NOTE, publicKey);
  const ours = note.signatures.filter((s) => s.name === checkpoint.origin && s.keyId.equals(keyId));
  if (ours.length === 0) {
    return { ok: false, reason: `the checkpoint note carries no signature by the log key ${checkpoint.origin}` };
  }
  const message = Buffer.from(note.text, "utf8");
  if (!ours.every((s) => verify(null, message, publicKey, s.signature))) {
    return { ok: false, reason: "the checkpoint note's log signature does not verify with the public key" };
  }
  return { ok: true, checkpoint, note };
}

/** What a tlog-cosignature/v1 signs: a header line, a time line, then the note text. */
export function cosignatureMessage(text: string, timestamp: number): Buffer {
  return Buffer.from(`cosignature/v1\ntime ${timestamp}\n${text}`, "utf8");
}

export type CosignatureVerification =
  { readonly ok: true; readonly timestamp: number } | { readonly ok: false; readonly reason: string };

/** Finds and checks the cosignature of witness `name` (key `publicKey`) on `note`. */
export function verifyCosignature(note: SignedNote, name: string, publicKey: KeyObject): CosignatureVerification {
  const keyId = noteKeyId(name, ED25519_COSIGNATURE_V1, publicKey);
  const line = note.signatures.find((s) => s.name === name && s.keyId.equals(keyId));
  if (line === undefined) return { ok: false, reason: `no cosignature by witness ${name}` };
  if (line.signature.length !== 8 + 64) return { ok: false, reason: `cosignature by ${name} is not 8 + 64 bytes` };
  const timestamp = Number(line.signature.readBigUInt64BE(0));
  if (!Number.isSafeInteger(timestamp)) return { ok: false, reason: `cosignature by ${name} has an absurd timestamp` };
  const valid = verify(null, cosignatureMessage(note.text, timestamp), publicKey, line.signature.subarray(8));
  return valid ? { ok: true, timestamp } : { ok: false, reason: `cosignature by ${name} does not verify` };
}

function checkKeyName(name: string, what: string): void {
  if (name.length === 0 || /[\s+]/u.test(name) || hasControlCharacter(name, false)) {
    throw new TypeError(
      `${what} ${JSON.stringify(name)} cannot name a note key: it must be non-empty, without spaces or '+'`,
    );
  }
}

// signed-note allows no ASCII control character but the newline (and a key name not even that).
function hasControlCharacter(text: string, newlineAllowed: boolean): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 && !(newlineAllowed && code === 0x0a)) return true;
  }
  return false;
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new MalformedNoteError("it is not valid UTF-8");
  }
}

export interface VerifierKey {
  readonly name: string;
  readonly publicKey: KeyObject;
}

/**
 * A signed-note verifier key, `<name>+<hex key id>+<base64(type || 32-byte Ed25519 key)>`, the
 * way witnesses publish theirs; `type` is the signature type the key must carry (0x04 for a
 * witness's cosignatures). The key id must match the key.
 */
export function parseVerifierKey(vkey: string, type: number = ED25519_COSIGNATURE_V1): VerifierKey {
  const match = /^([^\s+]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(vkey.trim());
  if (match === null) throw new Error(`verifier key ${JSON.stringify(vkey)} is not <name>+<8 hex>+<base64>`);
  const [, name = "", id = "", encoded = ""] = match;
  const bytes = Buffer.from(encoded, "base64");
  if (bytes.length !== 33 || bytes[0] !== type) {
    throw new Error(
      `verifier key of ${name}: expected type 0x${type.toString(16).padStart(2, "0")} and a 32-byte Ed25519 key`,
    );
  }
  const publicKey = createPublicKey({
    key: { kty: "OKP", crv: "Ed25519", x: bytes.subarray(1).toString("base64url") },
    format: "jwk",
  });
  if (noteKeyId(name, type, publicKey).toString("hex") !== id) {
    throw new Error(`verifier key of ${name}: key id ${id} does not match the key`);
  }
  return { name, publicKey };
}

/** `<name>+<hex key id>+<base64(type || key)>` for `publicKey`: what parseVerifierKey reads. */
export function formatVerifierKey(name: string, publicKey: KeyObject, type: number = ED25519_COSIGNATURE_V1): string {
  checkKeyName(name, "key name");
  const encoded = Buffer.concat([Uint8Array.of(type), ed25519PublicKeyBytes(publicKey)]).toString("base64");
  return `${name}+${noteKeyId(name, type, publicKey).toString("hex")}+${encoded}`;
}
