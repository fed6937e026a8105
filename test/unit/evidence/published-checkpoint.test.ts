import { describe, expect, it } from "vitest";
import type { StoredCheckpoint } from "../../../src/evidence/chain/bundle.js";
import { signLogCheckpoint } from "../../../src/evidence/chain/bundle.js";
import { consistencyProof, recordLeafHash } from "../../../src/evidence/chain/merkle.js";
import { signCheckpointNote } from "../../../src/evidence/chain/note.js";
import {
  checkPublishedChange,
  PUBLISHED_CHECKPOINT_NAME,
  publishedData,
  type PublishedData,
} from "../../../src/evidence/chain/published-checkpoint.js";
import type { SigningKey } from "../../../src/evidence/chain/signing.js";
import { generateSigningKey } from "../../../src/evidence/chain/signing.js";
import { admitPublishedCheckpoint } from "../../../src/webhook/checkpoint-guard.js";
import type { AdmissionRequest } from "../../../src/webhook/admission-review.js";

const key = generateSigningKey();
const log = Array.from({ length: 40 }, (_, i) => `sha256:${i.toString(16).padStart(64, "0")}`);
const forked = log.map((hash, i) => (i === 5 ? `sha256:${"f".repeat(64)}` : hash));

function published(hashes: readonly string[], size: number, from: number, signer: SigningKey = key): PublishedData {
  const signed = signLogCheckpoint(hashes.slice(0, size), { key: signer, origin: "aegis.test/log", now: new Date(0) });
  const stored: StoredCheckpoint = { checkpoint: signed, publicKey: signer.publicKeyPem };
  const proof = from === 0 ? [] : consistencyProof(hashes.map(recordLeafHash), from, size);
  return publishedData(stored, signCheckpointNote(signed.checkpoint, signer.privateKey), from, proof);
}

describe("the published evidence checkpoint only moves forward", () => {
  it("admits a first checkpoint signed by the log key, and growth proved consistent", () => {
    expect(checkPublishedChange(undefined, published(log, 10, 0), key.publicKey)).toEqual({ allowed: true });
    expect(checkPublishedChange(published(log, 10, 0), published(log, 25, 10), key.publicKey)).toEqual({
      allowed: true,
    });
    expect(checkPublishedChange(published(log, 25, 10), published(log, 25, 10), key.publicKey)).toEqual({
      allowed: true,
    });
  });

  it.each<[string, PublishedData | undefined, PublishedData | undefined, RegExp]>([
    ["a deletion", published(log, 10, 0), undefined, /append-only: it cannot be deleted/],
    ["a checkpoint signed by another key", undefined, published(log, 10, 0, generateSigningKey()), /not AEGIS's/],
    ["a rollback", published(log, 25, 10), published(log, 10, 0), /cannot go back from 25 records to 10/],
    ["a fork at the same size", published(log, 25, 10), published(forked, 25, 10), /forked or rewritten/],
    ["growth from a rewritten log", published(log, 10, 0), published(forked, 30, 10), /does not extend .* rewritten/],
    ["a proof from another size", published(log, 10, 0), published(log, 30, 20), /starts at 20 records/],
  ])("refuses %s", (_name, before, after, reason) => {
    const verdict = checkPublishedChange(before, after, key.publicKey);
    expect(verdict.allowed).toBe(false);
    expect(verdict.allowed ? "" : verdict.reason).toMatch(reason);
  });

  it("refuses data edited by hand: the note and the JSON must say the same and be signed", () => {
    const good = published(log, 10, 0);
    const edited = { ...good, checkpoint: good["checkpoint"]?.replace("\n10\n", "\n11\n") ?? "" };
    expect(checkPublishedChange(undefined, edited, key.publicKey)).toMatchObject({ allowed: false });
    const mixed = { ...published(log, 12, 0), "checkpoint.json": good["checkpoint.json"] ?? "" };
    expect(checkPublishedChange(undefined, mixed, key.publicKey)).toMatchObject({
      allowed: false,
      reason: expect.stringMatching(/describe different checkpoints/) as unknown,
    });
  });
});

describe("the checkpoint guard (webhook)", () => {
  function request(
    operation: "CREATE" | "UPDATE" | "DELETE",
    username: string,
    before?: PublishedData,
    after?: PublishedData,
  ): AdmissionRequest {
    return {
      uid: "u1",
      kind: { group: "", version: "v1", kind: "ConfigMap" },
      resource: { group: "", version: "v1", resource: "configmaps" },
      name: PUBLISHED_CHECKPOINT_NAME,
      namespace: "aegis-system",
      operation,
      userInfo: { username, groups: ["system:authenticated"] },
      object: after === undefined ? null : { data: after },
      oldObject: before === undefined ? null : { data: before },
      dryRun: false,
    };
  }

  it("refuses a cluster admin's deletion and rollback, lets the namespace controller delete", () => {
    const deps = { evidencePublicKey: key.publicKey };
    const current = published(log, 25, 10);
    expect(admitPublishedCheckpoint(request("DELETE", "admin", current), deps).allowed).toBe(false);
    expect(admitPublishedCheckpoint(request("UPDATE", "admin", current, published(log, 10, 0)), deps)).toMatchObject({
      allowed: false,
      status: {
        message: expect.stringMatching(
          /^aegis: ConfigMap aegis-system\/aegis-evidence-checkpoint: .*cannot go back/,
        ) as unknown,
      },
    });
    expect(admitPublishedCheckpoint(request("UPDATE", "admin", current, { ...current, note: "x" }), deps).allowed).toBe(
      true,
    );
    expect(
      admitPublishedCheckpoint(
        request("DELETE", "system:serviceaccount:kube-system:namespace-controller", current),
        deps,
      ).allowed,
    ).toBe(true);
  });
});
