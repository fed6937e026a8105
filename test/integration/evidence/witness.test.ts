// Checkpoints published to a witness outlive a database superuser: records deleted (and the
// stored checkpoints with them) after a checkpoint was published leave a bundle that verifies
// alone, yet fails against the witness's copy; a log rewritten and re-signed is refused by the
// witness itself. Real PostgreSQL and PGlite, a real HTTP witness on loopback.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { HttpWitnessTransport } from "../../../src/adapters/witness/http-witness-transport.js";
import { serializeBundle, verifyBundleText } from "../../../src/evidence/chain/bundle.js";
import { parseVerifierKey } from "../../../src/evidence/chain/note.js";
import { Checkpointer } from "../../../src/evidence/checkpointer.js";
import { DEFAULT_ORIGIN, exportBundle } from "../../../src/evidence/export.js";
import type { EvidenceLedger } from "../../../src/evidence/ledger.js";
import { WitnessPublisher } from "../../../src/evidence/publish/witness-publisher.js";
import { silentLogger } from "../../../src/ports/logger.js";
import type { BackendUnderTest } from "./helpers.js";
import { event, makeTempDir, openBackend, requirePostgres } from "./helpers.js";
import type { TestWitness } from "../../fakes/witness-server.js";
import { startTestWitness } from "../../fakes/witness-server.js";

const postgresUp = await requirePostgres();
const backends: ("postgres" | "pglite")[] = postgresUp ? ["postgres", "pglite"] : ["pglite"];

describe.each(backends)("%s: checkpoints published to a witness", (backendName) => {
  let backend: BackendUnderTest;
  let ledger: EvidenceLedger;
  let witness: TestWitness;
  let removeDir: () => Promise<void>;
  const closers: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    backend = await openBackend(backendName);
    const dir = await makeTempDir();
    removeDir = dir.remove;
    ledger = await backend.openLedger(dir.path);
    witness = await startTestWitness([{ origin: DEFAULT_ORIGIN, publicKey: backend.key.publicKey }]);
  });
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
  });
  afterAll(async () => {
    await ledger.close();
    await witness.close();
    await backend.close();
    await removeDir();
  });

  function publisherAndCheckpointer(): { publisher: WitnessPublisher; checkpointer: Checkpointer } {
    const publisher = new WitnessPublisher({
      transport: new HttpWitnessTransport(witness.url),
      witnessKey: parseVerifierKey(witness.verifierKey),
    });
    const checkpointer = new Checkpointer({
      store: ledger.store,
      key: backend.key,
      origin: DEFAULT_ORIGIN,
      intervalMs: 3_600_000,
      logger: silentLogger,
      publishers: [publisher],
    });
    closers.push(() => checkpointer.close());
    return { publisher, checkpointer };
  }

  async function record(from: number, count: number): Promise<void> {
    await Promise.all(Array.from({ length: count }, (_, i) => ledger.record(event(from + i))));
    await ledger.flush();
  }

  async function exportedText(): Promise<string> {
    return serializeBundle(await exportBundle({ store: ledger.store, origin: DEFAULT_ORIGIN, now: new Date() }));
  }

  it("publishes each checkpoint with a consistency proof from the last one, and checks the cosignature", async () => {
    const { publisher, checkpointer } = publisherAndCheckpointer();
    await record(0, 10);
    await checkpointer.checkpoint();
    expect(witness.stored(DEFAULT_ORIGIN)?.size).toBe(10);
    await record(10, 7);
    await checkpointer.checkpoint();
    expect(witness.stored(DEFAULT_ORIGIN)?.size).toBe(17);
    expect(witness.requests.map((r) => [r.status, r.oldSize])).toEqual([
      [200, 0],
      [200, 10],
    ]);
    expect(witness.requests[1]?.proofLines).toBeGreaterThan(0);
    expect(publisher.lastCosignedNote()).toBe(witness.stored(DEFAULT_ORIGIN)?.cosigned);
    expect(checkpointer.publishFailures().size).toBe(0);
  });

  it("learns the witness's size from 409 after a restart and catches up", async () => {
    const { publisher, checkpointer } = publisherAndCheckpointer();
    expect(publisher.publishedSize()).toBeUndefined();
    await record(17, 3);
    await checkpointer.checkpoint();
    expect(witness.requests.slice(-2).map((r) => [r.status, r.oldSize])).toEqual([
      [409, 0],
      [200, 17],
    ]);
    expect(publisher.publishedSize()).toBe(20);
  });

  it("catches records a superuser deleted after the witness saw them, though the bundle verifies alone", async () => {
    const keyId = backend.key.keyId;
    const witnessCopy = witness.stored(DEFAULT_ORIGIN)?.cosigned ?? "";
    expect(
      verifyBundleText(await exportedText(), { trustedKeyIds: [keyId], keptCheckpoint: { note: witnessCopy } }).ok,
    ).toBe(true);
    await backend.db.exec(`
      ALTER TABLE evidence_records DISABLE TRIGGER USER;
      ALTER TABLE evidence_checkpoints DISABLE TRIGGER USER;
      DELETE FROM evidence_records WHERE seq >= 14;
      DELETE FROM evidence_checkpoints;
      ALTER TABLE evidence_records ENABLE TRIGGER USER;
      ALTER TABLE evidence_checkpoints ENABLE TRIGGER USER;`);
    const text = await exportedText();
    expect(verifyBundleText(text, { trustedKeyIds: [keyId] })).toMatchObject({ ok: true, records: 14 });
    expect(verifyBundleText(text, { trustedKeyIds: [keyId], keptCheckpoint: { note: witnessCopy } })).toMatchObject({
      ok: false,
      seq: 14,
      reason: expect.stringMatching(
        /^log truncated: your checkpoint note .* covers 20 records, the bundle's log holds 14$/,
      ) as unknown,
    });
  });

  it("is refused by the witness when the rewritten log is signed again, and still caught against its copy", async () => {
    const { checkpointer } = publisherAndCheckpointer();
    const witnessCopy = witness.stored(DEFAULT_ORIGIN)?.cosigned ?? "";
    await record(100, 10); // the log grows past the witness's size with another history
    const signed = await checkpointer.checkpoint();
    expect(signed?.checkpoint.checkpoint.size).toBe(24);
    expect(witness.requests.at(-1)?.status).toBe(422);
    expect(witness.stored(DEFAULT_ORIGIN)?.size).toBe(20);
    expect(checkpointer.publishFailures().get(`witness ${witness.url}`)).toBe(1);
    const verdict = verifyBundleText(await exportedText(), {
      trustedKeyIds: [backend.key.keyId],
      keptCheckpoint: { note: witnessCopy },
    });
    expect(verdict).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^log rewritten: your checkpoint note .* at size 20/) as unknown,
    });
  });
});
