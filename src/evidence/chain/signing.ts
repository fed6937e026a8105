// Ed25519 keys for checkpoints. Pure (node:crypto only): callers read PEM from wherever it lives
// (a file in the data dir, a Kubernetes Secret) and hand the text in.
import type { KeyObject } from "node:crypto";
import { createPrivateKey, createPublicKey, generateKeyPairSync } from "node:crypto";
import { sha256Bytes, toDigest } from "./hashing.js";

export interface SigningKey {
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  /** SPKI PEM of the public key, as put into bundles. */
  readonly publicKeyPem: string;
  /** `sha256:` of the SPKI DER: names the key in checkpoints without carrying it. */
  readonly keyId: string;
}

export function generateSigningKey(): SigningKey {
  const { privateKey } = generateKeyPairSync("ed25519");
  return signingKeyFromPrivateKey(privateKey);
}

/** Loads a PKCS#8 PEM private key (e.g. from a Kubernetes Secret); it must be Ed25519. */
export function signingKeyFromPem(privateKeyPem: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: privateKeyPem, format: "pem" });
  } catch (err) {
    throw new Error(`evidence signing key: cannot parse the private key PEM: ${String(err)}`, { cause: err });
  }
  return signingKeyFromPrivateKey(privateKey);
}

export function privateKeyToPem(key: SigningKey): string {
  return key.privateKey.export({ type: "pkcs8", format: "pem" }).toString();
}

function signingKeyFromPrivateKey(privateKey: KeyObject): SigningKey {
  if (privateKey.asymmetricKeyType !== "ed25519") {
    throw new Error(`evidence signing key must be Ed25519, got ${privateKey.asymmetricKeyType ?? "a symmetric key"}`);
  }
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, publicKeyPem: publicKeyToPem(publicKey), keyId: keyIdOf(publicKey) };
}

export function publicKeyToPem(publicKey: KeyObject): string {
  return publicKey.export({ type: "spki", format: "pem" }).toString();
}

export function keyIdOf(publicKey: KeyObject): string {
  return toDigest(sha256Bytes(publicKey.export({ type: "spki", format: "der" })));
}

/**
 * Parses a public key PEM strictly: it must be Ed25519 and byte-identical to its own re-export,
 * so that two different PEM texts can never stand for the same key (a flipped padding bit in
 * base64 would otherwise go unnoticed in a bundle).
 */
export function parsePublicKeyPem(pem: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: "pem" });
  } catch (err) {
    throw new Error(`cannot parse the public key PEM: ${String(err)}`, { cause: err });
  }
  if (key.asymmetricKeyType !== "ed25519") {
    throw new Error(`public key must be Ed25519, got ${key.asymmetricKeyType ?? "unknown"}`);
  }
  if (publicKeyToPem(key) !== pem) throw new Error("public key PEM is not in canonical SPKI form");
  return key;
}
