// `aegis evidence export|verify` as an auditor uses them, on the embedded database.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evidenceExport, evidencePublicKey, evidenceVerify } from "../../../src/cli/evidence-commands.js";
import { openEvidenceLedger, PGLITE_DIR_NAME } from "../../../src/wiring/ledger.js";
import { openPgliteDatabase } from "../../../src/evidence/store/pglite-database.js";
import { event, makeTempDir } from "./helpers.js";

let dataDir: string;
let removeDir: () => Promise<void>;

function capture(): { write: (text: string) => boolean; text: () => string } {
  let out = "";
  return { write: (text) => ((out += text), true), text: () => out };
}

beforeAll(async () => {
  ({ path: dataDir, remove: removeDir } = await makeTempDir("aegis-cli-"));
  const ledger = await openEvidenceLedger({ dataDir });
  await Promise.all(Array.from({ length: 60 }, (_, i) => ledger.record(event(i))));
  await ledger.close();
});
afterAll(async () => {
  await removeDir();
});

describe("aegis evidence export | verify", () => {
  it("exports a bundle that verifies offline, also pinned to the public key", async () => {
    const out = join(dataDir, "bundle.json");
    await evidenceExport({ dataDir, out, stderr: capture() });
    const stdout = capture();
    expect(await evidenceVerify({ bundle: out, stdout })).toBe(0);
    expect(stdout.text()).toMatch(/^OK .*full bundle, 60 records verified/);
    const publicKey = join(dataDir, "public.pem");
    const pem = capture();
    await evidencePublicKey({ dataDir, stdout: pem });
    await writeFile(publicKey, pem.text());
    expect(await evidenceVerify({ bundle: out, publicKey, stdout: capture() })).toBe(0);
    expect(await evidenceVerify({ bundle: out, previous: out, stdout: capture() })).toBe(0);
  });

  it("exits 1 naming the first bad record of an edited bundle", async () => {
    const out = join(dataDir, "edited.json");
    await evidenceExport({ dataDir, out, stderr: capture() });
    const text = await readFile(out, "utf8");
    await writeFile(out, text.replace('"index":17,', '"index":71,'));
    const stdout = capture();
    expect(await evidenceVerify({ bundle: out, stdout })).toBe(1);
    expect(stdout.text()).toMatch(/^FAIL .*record seq 17: content does not match its hash/);
  });

  it("verifies a filtered export read from stdin", async () => {
    const piped = capture();
    await evidenceExport({ dataDir, subject: "Deployment/prod/web-2", stdout: piped });
    const stdout = capture();
    expect(await evidenceVerify({ stdin: Readable.from([piped.text()]), stdout })).toBe(0);
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
    expect(await evidenceVerify({ dataDir, stdin: false, stdout })).toBe(1);
    expect(stdout.text()).toMatch(/^FAIL live export: record seq 33: content does not match its hash/);
  });
});
