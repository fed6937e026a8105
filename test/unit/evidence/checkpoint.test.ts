import { generateKeyPairSync } from "node:crypto";
import { describe, expect, it } from "vitest";
import { signCheckpoint, verifyCheckpoint } from "../../../src/evidence/chain/checkpoint.js";
import type { Checkpoint } from "../../../src/evidence/chain/checkpoint.js";
import { toDigest } from "../../../src/evidence/chain/hashing.js";
import {
  generateSigningKey,
  parsePublicKeyPem,
  privateKeyToPem,
  signingKeyFromPem,
} from "../../../src/evidence/chain/signing.js";
import { TEST_KEY, TEST_ORIGIN } from "./fixtures.js";

const checkpoint: Checkpoint = {
  origin: TEST_ORIGIN,
  size: 42,
  rootHash: toDigest(Buffer.alloc(32, 7)),
  timestamp: "2025-01-02T03:04:05.678Z",
};

describe("signed checkpoints (Ed25519)", () => {
  it("verify with the signer's public key", () => {
    const signed = signCheckpoint(checkpoint, TEST_KEY);
    expect(signed.signature).toMatch(/^[0-9a-f]{128}$/);
    expect(signed.keyId).toBe(TEST_KEY.keyId);
    expect(verifyCheckpoint(signed, TEST_KEY.publicKey)).toEqual({ ok: true });
  });

  it("fail when any field of the checkpoint changes", () => {
    const signed = signCheckpoint(checkpoint, TEST_KEY);
    const changes: Partial<Checkpoint>[] = [
      { origin: "elsewhere" },
      { size: 43 },
      { rootHash: toDigest(Buffer.alloc(32, 8)) },
      { timestamp: "2025-01-02T03:04:05.679Z" },
    ];
    for (const change of changes) {
      const result = verifyCheckpoint({ ...signed, checkpoint: { ...checkpoint, ...change } }, TEST_KEY.publicKey);
      expect(result).toEqual({ ok: false, reason: expect.stringMatching(/signature does not verify/) as unknown });
    }
  });

  it("fail with another key, or when keyId does not name the key", () => {
    const other = generateSigningKey();
    const signed = signCheckpoint(checkpoint, TEST_KEY);
    expect(verifyCheckpoint(signed, other.publicKey).ok).toBe(false);
    const forged = { ...signCheckpoint(checkpoint, other), keyId: TEST_KEY.keyId };
    expect(verifyCheckpoint(forged, TEST_KEY.publicKey)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/does not verify/) as unknown,
    });
    expect(verifyCheckpoint({ ...signed, keyId: other.keyId }, TEST_KEY.publicKey)).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/names key/) as unknown,
    });
  });
});

describe("signing keys", () => {
  it("round-trip through PKCS#8 PEM (as stored in a file or a Kubernetes Secret)", () => {
    const reloaded = signingKeyFromPem(privateKeyToPem(TEST_KEY));
    expect(reloaded.keyId).toBe(TEST_KEY.keyId);
    expect(reloaded.publicKeyPem).toBe(TEST_KEY.publicKeyPem);
    expect(TEST_KEY.publicKeyPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n/);
  });

  it("refuse keys that are not Ed25519, and unparsable PEM, naming the problem", () => {
    const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
    expect(() => signingKeyFromPem(privateKey.export({ type: "pkcs8", format: "pem" }).toString())).toThrow(
      /must be Ed25519, got ec/,
    );
    expect(() => parsePublicKeyPem(publicKey.export({ type: "spki", format: "pem" }).toString())).toThrow(
      /must be Ed25519/,
    );
    expect(() => signingKeyFromPem("not a key")).toThrow(/cannot parse the private key PEM/);
  });

  it("accept only the canonical PEM spelling of a public key", () => {
    expect(parsePublicKeyPem(TEST_KEY.publicKeyPem).equals(TEST_KEY.publicKey)).toBe(true);
    expect(() => parsePublicKeyPem(TEST_KEY.publicKeyPem.replaceAll("\n", "\r\n"))).toThrow(/canonical/);
  });
});
