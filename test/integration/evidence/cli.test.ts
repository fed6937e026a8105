// `aegis evidence export|verify` as an auditor uses them, on the embedded database.
import { capture } from "../../helpers/capture.js";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  evidenceExport,
  evidenceKey,
  evidenceVerify,
  TRUST_ANCHOR_GUIDANCE,
} from "../../../src/cli/evidence-commands.js";
import { buildFullBundle, serializeBundle } from "../../../src/evidence/chain/bundle.js";
import { EMPTY_CHAIN_HEAD, sealChain } from "../../../src/evidence/chain/record.js";
import { generateSigningKey, publicKeyToPem } from "../../../src/evidence/chain/signing.js";
import type { EvidenceRecord } from "../../../src/ports/evidence.js";
import { openEvidenceLedger, PGLITE_DIR_NAME, startEvidenceCheckpoints } from "../../../src/wiring/ledger.js";
import { generateSigningKey as newKey, privateKeyToPem } from "../../../src/evidence/chain/signing.js";
import { DEFAULT_KEY_FILE_NAME } from "../../../src/evidence/signing-key-file.js";
import { existsSync } from "node:fs";
import { openPgliteDatabase } from "../../../src/evidence/store/pglite-database.js";
import { event, makeTempDir } from "./helpers.js";

let dataDir: string;
let removeDir: () => Promise<void>;
/** What `aegis evidence key` printed: the trust anchor every verify below is given. */
let keyId: string;
let publicKey: string;

beforeAll(async () => {
  ({ path: dataDir, remove: removeDir } = await makeTempDir("aegis-cli-"));
  const ledger = await openEvidenceLedger({ dataDir });
  // As aegis serve does: a checkpointer signs and stores a checkpoint, the last one at shutdown.
  const checkpoints = await startEvidenceCheckpoints(ledger, { dataDir, intervalMs: 60_000 });
  await Promise.all(Array.from({ length: 60 }, (_, i) => ledger.record(event(i))));
  await ledger.flush();
  await checkpoints.close();
  await ledger.close();
  const printed = capture();
  await evidenceKey({ dataDir, stdout: printed });
  keyId = /^key id: (sha256:[0-9a-f]{64})$/m.exec(printed.text())?.[1] ?? "";
  publicKey = join(dataDir, "public.pem");
  await writeFile(publicKey, printed.text());
});
afterAll(async () => {
  await removeDir();
});

describe("aegis evidence export | verify", () => {
  it("exports a bundle that verifies offline against the trusted key, given as a file or a key id", async () => {
    const out = join(dataDir, "bundle.json");
    await evidenceExport({ dataDir, out, stderr: capture() });
    const stdout = capture();
    expect(await evidenceVerify({ bundle: out, publicKey, stdout })).toBe(0);
    expect(stdout.text()).toMatch(/^OK .*full bundle, 60 records verified/);
    expect(keyId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(await evidenceVerify({ bundle: out, keyId, stdout: capture() })).toBe(0);
    expect(await evidenceVerify({ bundle: out, keyId, publicKey, stdout: capture() })).toBe(0);
    expect(await evidenceVerify({ bundle: out, keyId, previous: out, stdout: capture() })).toBe(0);
  });

  it("refuses to verify without a trusted key (exit 2), saying how to obtain one", async () => {
    const out = join(dataDir, "untrusted.json");
    await evidenceExport({ dataDir, out, stderr: capture() });
    const stderr = capture();
    const stdout = capture();
    expect(await evidenceVerify({ bundle: out, stdout, stderr })).toBe(2);
    expect(stdout.text()).toBe("");
    expect(stderr.text()).toBe(TRUST_ANCHOR_GUIDANCE);
    expect(stderr.text()).toMatch(/aegis evidence key/);
    const badId = capture();
    expect(await evidenceVerify({ bundle: out, keyId: "sha256:abc", stdout, stderr: badId })).toBe(2);
    expect(badId.text()).toMatch(/--key-id must be sha256:/);
  });

  it("fails with the wrong key, from a file or as a key id", async () => {
    const out = join(dataDir, "wrong-key.json");
    await evidenceExport({ dataDir, out, stderr: capture() });
    const other = generateSigningKey();
    const otherFile = join(dataDir, "other.pem");
    await writeFile(otherFile, publicKeyToPem(other.publicKey));
    for (const trust of [{ publicKey: otherFile }, { keyId: other.keyId }]) {
      const stdout = capture();
      expect(await evidenceVerify({ bundle: out, ...trust, stdout })).toBe(1);
      expect(stdout.text()).toMatch(/^FAIL .*not a trusted key/);
    }
  });

  it("fails a rewritten bundle re-signed with another key, whichever way the key is given", async () => {
    const out = join(dataDir, "forged.json");
    await evidenceExport({ dataDir, out, stderr: capture() });
    const original = JSON.parse(await readFile(out, "utf8")) as { records: EvidenceRecord[] };
    // Rewrite history and recompute every hash: the chain and Merkle root are self-consistent.
    const rewritten = sealChain(
      original.records.map(({ seq: _seq, prevHash: _prev, hash: _hash, ...rest }, index) =>
        index === 17 ? { ...rest, actor: "mallory" } : rest,
      ),
      EMPTY_CHAIN_HEAD,
    );
    const forger = generateSigningKey();
    await writeFile(
      out,
      serializeBundle(buildFullBundle(rewritten, { key: forger, origin: "aegis.valina.ai/evidence", now: new Date() })),
    );
    for (const trust of [{ publicKey }, { keyId }]) {
      const stdout = capture();
      expect(await evidenceVerify({ bundle: out, ...trust, stdout })).toBe(1);
      expect(stdout.text()).toMatch(/^FAIL .*not a trusted key/);
    }
  });

  it("exports with read access alone: no signing key is created, and the stored checkpoints are shipped", async () => {
    const { path: keyless, remove } = await makeTempDir("aegis-keyless-");
    try {
      const writer = await openEvidenceLedger({ dataDir: keyless, privateKeyPem: privateKeyToPem(newKey()) });
      await Promise.all(Array.from({ length: 5 }, (_, i) => writer.record(event(i))));
      await writer.close();
      const out = join(keyless, "bundle.json");
      await evidenceExport({ dataDir: keyless, out, stderr: capture() });
      expect(existsSync(join(keyless, DEFAULT_KEY_FILE_NAME))).toBe(false);
      const bundle = JSON.parse(await readFile(out, "utf8")) as { checkpoint?: unknown; records: unknown[] };
      expect(bundle.records).toHaveLength(5);
      expect(bundle.checkpoint).toBeUndefined(); // no checkpointer ran: nothing signed, nothing invented
      const stdout = capture();
      expect(await evidenceVerify({ bundle: out, keyId, stdout })).toBe(0);
      expect(stdout.text()).toMatch(/chain only: no signed checkpoint/);
      await expect(evidenceExport({ dataDir: keyless, subject: "x", stdout: capture() })).rejects.toThrow(
        /needs a signed checkpoint/,
      );
      expect(existsSync(join(keyless, DEFAULT_KEY_FILE_NAME))).toBe(false);
    } finally {
      await remove();
    }
  });

  it("checks a checkpoint the auditor kept: the log extends it, or the truncation is named", async () => {
    const out = join(dataDir, "kept.json");
    await evidenceExport({ dataDir, out, stderr: capture() });
    const bundle = JSON.parse(await readFile(out, "utf8")) as { checkpoint: { checkpoint: { size: number } } };
    expect(bundle.checkpoint.checkpoint.size).toBe(60);
    const kept = join(dataDir, "kept-checkpoint.json");
    await writeFile(kept, JSON.stringify(bundle.checkpoint));
    const stdout = capture();
    expect(await evidenceVerify({ bundle: out, keyId, checkpoint: kept, stdout })).toBe(0);
    expect(stdout.text()).toMatch(/checkpoint \S+ size 60 .*signed by sha256:/);
    // An older bundle (here: cut to 40 records and re-signed by a forger) cannot pass for the log the auditor saw.
    const short = buildFullBundle(
      (JSON.parse(await readFile(out, "utf8")) as { records: EvidenceRecord[] }).records.slice(0, 40),
      { key: generateSigningKey(), origin: "aegis.valina.ai/evidence", now: new Date() },
    );
    const shortFile = join(dataDir, "short.json");
    await writeFile(shortFile, serializeBundle(short));
    const forged = capture();
    expect(await evidenceVerify({ bundle: shortFile, keyId, checkpoint: kept, stdout: forged })).toBe(1);
    expect(forged.text()).toMatch(/^FAIL .*not a trusted key/);
    const bare = buildFullBundle(short.records, { checkpoints: [] });
    await writeFile(shortFile, serializeBundle(bare));
    const truncated = capture();
    expect(await evidenceVerify({ bundle: shortFile, keyId, checkpoint: kept, stdout: truncated })).toBe(1);
    expect(truncated.text()).toMatch(
      /^FAIL .*log truncated: your checkpoint .* covers 60 records, the bundle's log holds 40/,
    );
  });

  it("signs checkpoints on the interval while records arrive, and names a log truncated behind them", async () => {
    const { path: dir, remove } = await makeTempDir("aegis-interval-");
    try {
      const ledger = await openEvidenceLedger({ dataDir: dir });
      const checkpoints = await startEvidenceCheckpoints(ledger, { dataDir: dir, intervalMs: 50 });
      await Promise.all(Array.from({ length: 20 }, (_, i) => ledger.record(event(i))));
      await expect
        .poll(async () => (await ledger.store.checkpoints()).at(-1)?.checkpoint.checkpoint.size, { timeout: 5_000 })
        .toBe(20);
      await Promise.all(Array.from({ length: 5 }, (_, i) => ledger.record(event(100 + i))));
      await ledger.flush();
      await checkpoints.close();
      expect((await ledger.store.checkpoints()).map((c) => c.checkpoint.checkpoint.size).at(-1)).toBe(25);
      const printed = capture();
      await evidenceKey({ dataDir: dir, stdout: printed });
      const id = /key id: (\S+)/.exec(printed.text())?.[1];
      await ledger.close();
      const db = await openPgliteDatabase(join(dir, PGLITE_DIR_NAME));
      await expect(db.exec("DELETE FROM evidence_checkpoints")).rejects.toThrow(/append-only/);
      await db.exec(`
        ALTER TABLE evidence_records DISABLE TRIGGER USER;
        DELETE FROM evidence_records WHERE seq >= 22;
        ALTER TABLE evidence_records ENABLE TRIGGER USER;`);
      await db.close();
      const stdout = capture();
      expect(await evidenceVerify({ dataDir: dir, stdin: false, keyId: id, stdout })).toBe(1);
      expect(stdout.text()).toMatch(
        /^FAIL live export: record seq 22: record missing: .* covers 25 records \(truncated\)/,
      );
    } finally {
      await remove();
    }
  });

  it("exits 1 naming the first bad record of an edited bundle", async () => {
    const out = join(dataDir, "edited.json");
    await evidenceExport({ dataDir, out, stderr: capture() });
    const text = await readFile(out, "utf8");
    await writeFile(out, text.replace('"index":17,', '"index":71,'));
    const stdout = capture();
    expect(await evidenceVerify({ bundle: out, keyId, stdout })).toBe(1);
    expect(stdout.text()).toMatch(/^FAIL .*record seq 17: content does not match its hash/);
  });

  it("verifies a filtered export read from stdin", async () => {
    const piped = capture();
    await evidenceExport({ dataDir, subject: "Deployment/prod/web-2", stdout: piped });
    const stdout = capture();
    expect(await evidenceVerify({ stdin: Readable.from([piped.text()]), keyId, stdout })).toBe(0);
    expect(stdout.text()).toMatch(/^OK stdin: filtered bundle, 12 records verified; checkpoint \S+ size 60/);
  });

  it("verifies the live database, naming a row altered behind the triggers' back", async () => {
    const db = await openPgliteDatabase(join(dataDir, PGLITE_DIR_NAME));
    await db.exec(`
      ALTER TABLE evidence_records DISABLE TRIGGER USER;
      UPDATE evidence_records SET actor = 'mallory' WHERE seq = 33;
      ALTER TABLE evidence_records ENABLE TRIGGER USER;`);
    await db.close();
    const stdout = capture();
    expect(await evidenceVerify({ dataDir, stdin: false, keyId, stdout })).toBe(1);
    expect(stdout.text()).toMatch(/^FAIL live export: record seq 33: content does not match its hash/);
  });
});
