// `aegis evidence collect` on the embedded database: a chain-of-custody package about one
// subject that verifies offline against the trusted key, names a changed byte, and whose
// collection is itself an evidence record. (The cluster part runs in e2e/evidence.e2e.test.ts.)
import { capture } from "../../helpers/capture.js";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evidenceCollect } from "../../../src/cli/evidence-collect.js";
import { evidenceKey, evidenceVerify } from "../../../src/cli/evidence-commands.js";
import { generateSigningKey, privateKeyToPem } from "../../../src/evidence/chain/signing.js";
import { openEvidenceLedger, openEvidenceReader, startEvidenceCheckpoints } from "../../../src/wiring/ledger.js";
import { event, makeTempDir } from "./helpers.js";

let dataDir: string;
let removeDir: () => Promise<void>;
let keyId: string;
const SUBJECT = "Deployment/prod/web-2";

beforeAll(async () => {
  ({ path: dataDir, remove: removeDir } = await makeTempDir("aegis-collect-"));
  const ledger = await openEvidenceLedger({ dataDir });
  const checkpoints = await startEvidenceCheckpoints(ledger, { dataDir, intervalMs: 60_000 });
  await Promise.all(
    Array.from({ length: 30 }, (_, i) =>
      ledger.record({ ...event(i), data: { ...event(i).data, changeHash: `sha256:${String(i % 10).repeat(64)}` } }),
    ),
  );
  await ledger.flush();
  await checkpoints.close();
  await ledger.close();
  const printed = capture();
  await evidenceKey({ dataDir, stdout: printed });
  keyId = /^key id: (sha256:[0-9a-f]{64})$/m.exec(printed.text())?.[1] ?? "";
});
afterAll(async () => {
  await removeDir();
});

describe("aegis evidence collect", () => {
  let packagePath: string;
  let collectorKeyId: string;

  it("writes a package of the subject's records with proofs and records the collection in the ledger", async () => {
    packagePath = join(dataDir, "package.json");
    const collectorKey = generateSigningKey();
    collectorKeyId = collectorKey.keyId;
    const keyPath = join(dataDir, "collector.pem");
    await writeFile(keyPath, privateKeyToPem(collectorKey));
    const stderr = capture();
    expect(
      await evidenceCollect({
        subject: SUBJECT,
        dataDir,
        cluster: false,
        out: packagePath,
        collectorKey: keyPath,
        stderr,
      }),
    ).toBe(0);
    expect(stderr.text()).toMatch(
      /6 records about Deployment\/prod\/web-2, 0 Events, object absent; recorded as collection-/,
    );
    const written = JSON.parse(await readFile(packagePath, "utf8")) as {
      bundle: { records: { subject: string }[] };
      custody: { recordId: string; contentDigest: string; authenticated: boolean };
      kubernetes: { recordedChangeHash: string; error: string };
    };
    expect(written.bundle.records.every((r) => r.subject === SUBJECT)).toBe(true);
    expect(written.kubernetes.recordedChangeHash).toBe(`sha256:${"7".repeat(64)}`); // newest: event 27
    expect(written.custody.authenticated).toBe(false);
    const reader = await openEvidenceReader({ dataDir });
    try {
      const { records } = await reader.store.snapshot({ subject: SUBJECT });
      const collection = records.find((r) => r.id === written.custody.recordId);
      expect(collection).toMatchObject({
        type: "evidence.collection",
        data: { packageDigest: written.custody.contentDigest },
      });
    } finally {
      await reader.close();
    }
  });

  it("verifies offline with the trusted key (and the collector's)", async () => {
    const stdout = capture();
    expect(await evidenceVerify({ bundle: packagePath, keyId, stdout })).toBe(0);
    expect(stdout.text()).toMatch(
      /^OK .*: custody package for Deployment\/prod\/web-2, 6 records verified; .*; collected by os:.* \(not authenticated\) .* signed by collector key sha256:/,
    );
    expect(stdout.text()).toContain(collectorKeyId);
    const wrongKey = capture();
    expect(await evidenceVerify({ bundle: packagePath, keyId: generateSigningKey().keyId, stdout: wrongKey })).toBe(1);
    expect(wrongKey.text()).toMatch(/not a trusted key/);
  });

  it.each<[string, (text: string) => string, RegExp]>([
    [
      "a record's data",
      (t) => t.replace('"index":17,', '"index":71,'),
      /record seq 17: bundle: content does not match its hash/,
    ],
    [
      "the collector's name",
      (t) => t.replace('"collector":"os:', '"collector":"xs:'),
      /collector signature does not verify/,
    ],
    [
      "the cluster part",
      (t) => t.replace('"error":"not read', '"error":"xot read'),
      /does not match custody.contentDigest/,
    ],
    [
      "the custody digest",
      (t) => t.replace(/"contentDigest":"sha256:./, '"contentDigest":"sha256:x'),
      /malformed package|contentDigest/,
    ],
  ])("names a changed byte in %s", async (_name, change, reason) => {
    const text = await readFile(packagePath, "utf8");
    const changed = change(text);
    expect(changed).not.toBe(text);
    const out = join(dataDir, "changed.json");
    await writeFile(out, changed);
    const stdout = capture();
    expect(await evidenceVerify({ bundle: out, keyId, stdout })).toBe(1);
    expect(stdout.text()).toMatch(reason);
  });

  it("refuses a subject it cannot name, with the kinds it knows", async () => {
    const stderr = capture();
    expect(await evidenceCollect({ subject: "Deployment/web", dataDir, cluster: false, stderr })).toBe(2);
    expect(stderr.text()).toMatch(/expected Deployment\/NAMESPACE\/NAME/);
  });
});
