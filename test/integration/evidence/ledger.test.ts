// The ledger against both storage backends: same SQL, same guarantees.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serializeBundle, verifyBundle, verifyBundleText } from "../../../src/evidence/chain/bundle.js";
import { EMPTY_CHAIN_HEAD, sealChain } from "../../../src/evidence/chain/record.js";
import { SPOOL_FILE_NAME } from "../../../src/wiring/ledger.js";
import { encodeLine } from "../../../src/evidence/spool.js";
import { EvidenceStore } from "../../../src/evidence/store/evidence-store.js";
import { EVIDENCE_MIGRATIONS, migrate } from "../../../src/evidence/store/migrations.js";
import type { BackendUnderTest } from "./helpers.js";
import { event, makeTempDir, openBackend, requirePostgres } from "./helpers.js";

const postgresUp = await requirePostgres();
const backends = postgresUp ? (["postgres", "pglite"] as const) : (["pglite"] as const);

describe.each(backends)("evidence ledger on %s", (backendName) => {
  let backend: BackendUnderTest;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    backend = await openBackend(backendName);
  });
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await backend.close();
  });

  async function dataDir(): Promise<string> {
    const dir = await makeTempDir();
    cleanups.push(dir.remove);
    return dir.path;
  }

  it("applies migrations once, even when replicas start together", async () => {
    const reports = await Promise.all([migrate(backend.db), migrate(backend.db), migrate(backend.db)]);
    const versions = EVIDENCE_MIGRATIONS.map((m) => m.version);
    expect(reports.flatMap((r) => r.applied).sort()).toEqual(versions);
    const { rows } = await backend.db.query("SELECT version FROM evidence_schema_migrations");
    expect(rows).toHaveLength(versions.length);
    expect(reports[0]?.writerRole).toBe(
      backendName === "postgres" ? "granted" : "skipped: embedded database has a single user",
    );
  });

  it("appends concurrent records into one chain that a full export verifies", async () => {
    const ledger = await backend.openLedger(await dataDir());
    await Promise.all(Array.from({ length: 1_000 }, (_, i) => ledger.record(event(i))));
    expect(ledger.metrics).toMatchObject({ appendedTotal: 1_000, queueDepth: 0, spoolDepth: 0, lagSeconds: 0 });
    const bundle = await ledger.exportBundle();
    expect(bundle.records.map((r) => r.seq)).toEqual(Array.from({ length: 1_000 }, (_, i) => i));
    expect(verifyBundleText(serializeBundle(bundle))).toMatchObject({
      ok: true,
      kind: "full",
      records: 1_000,
      keyId: backend.key.keyId,
    });
    await ledger.close();
  });

  it("exports filtered bundles with inclusion proofs", async () => {
    const ledger = await backend.openLedger(await dataDir());
    const bySubject = await ledger.exportBundle({ subject: "Deployment/prod/web-3" });
    expect(bySubject.records.length).toBe(200);
    expect(verifyBundle(bySubject)).toMatchObject({ ok: true, kind: "filtered", records: 200 });
    const suffix = await ledger.exportBundle({ since: "990" });
    expect(suffix.records.map((r) => r.seq)).toEqual([990, 991, 992, 993, 994, 995, 996, 997, 998, 999]);
    expect(verifyBundle(suffix).ok).toBe(true);
    const byTime = await ledger.exportBundle({ since: "2000-01-01T00:00:00Z" });
    expect(byTime.records.length).toBe(1_000);
    expect(verifyBundle(byTime).ok).toBe(true);
    await ledger.close();
  });

  it("is idempotent by record id and keeps chaining across restarts", async () => {
    const dir = await dataDir();
    const first = await backend.openLedger(dir);
    await Promise.all([
      first.record(event(0)),
      first.record(event(0)),
      first.record({ ...event(5000), id: "fresh-1" }),
    ]);
    expect(first.metrics).toMatchObject({ appendedTotal: 1, duplicateTotal: 2 });
    await first.close();
    const second = await backend.openLedger(dir);
    await second.record({ ...event(5001), id: "fresh-2" });
    const bundle = await second.exportBundle();
    expect(bundle.records.map((r) => r.id).slice(-2)).toEqual(["fresh-1", "fresh-2"]);
    expect(verifyBundle(bundle)).toMatchObject({ ok: true, records: 1_002 });
    expect(await second.head()).toEqual({ nextSeq: 1_002, prevHash: bundle.records[1_001]?.hash });
    expect((await second.range(1_000, 10)).map((r) => r.id)).toEqual(["fresh-1", "fresh-2"]);
    await second.close();
  });

  it("replays a spool left by a crash, skipping what the database already holds", async () => {
    const dir = await dataDir();
    const store = new EvidenceStore(backend.db);
    const already = (await store.range(1_000, 2)).map(({ id, time, type, subject, actor, data }) => ({
      id,
      time,
      type,
      subject,
      actor,
      data,
    }));
    const spooled = [...already, ...[0, 1, 2].map((i) => ({ ...already[0], id: `spooled-${i}` }))];
    const lines = spooled.map((d) => encodeLine(d as (typeof already)[number]));
    // The last line was cut in the middle of its write.
    await writeFile(
      join(dir, SPOOL_FILE_NAME),
      Buffer.concat([...lines, lines[0]?.subarray(0, 17) ?? Buffer.alloc(0)]),
    );
    const ledger = await backend.openLedger(dir);
    await ledger.waitUntilDrained(10_000);
    expect(ledger.metrics).toMatchObject({ appendedTotal: 3, duplicateTotal: 2, spoolDepth: 0 });
    const bundle = await ledger.exportBundle();
    expect(bundle.records.map((r) => r.id).slice(-3)).toEqual(["spooled-0", "spooled-1", "spooled-2"]);
    expect(verifyBundle(bundle)).toMatchObject({ ok: true, records: 1_005 });
    await ledger.close();
  });

  it("refuses UPDATE, DELETE and TRUNCATE at the database level", async () => {
    for (const sql of [
      "UPDATE evidence_records SET actor = 'mallory' WHERE seq = 3",
      "UPDATE evidence_records SET actor = actor WHERE false",
      "DELETE FROM evidence_records WHERE seq = 3",
      "TRUNCATE evidence_records",
    ]) {
      await expect(backend.db.query(sql), sql).rejects.toThrow(/append-only/);
    }
  });

  it("refuses an insert that does not extend the chain, whoever skips the ledger", async () => {
    const head = await new EvidenceStore(backend.db).head();
    const [fork] = sealChain(
      [{ id: "fork", time: "2025-01-01T00:00:00.000Z", type: "x", subject: "s", actor: "a", data: {} }],
      {
        nextSeq: head.nextSeq + 1,
        prevHash: head.prevHash,
      },
    );
    const insert = `INSERT INTO evidence_records (seq, id, event_time, type, subject, actor, data, prev_hash, hash)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`;
    const values = (r: typeof fork & object): unknown[] => [
      r.seq,
      r.id,
      r.time,
      r.type,
      r.subject,
      r.actor,
      "{}",
      r.prevHash,
      r.hash,
    ];
    await expect(backend.db.query(insert, values(fork as NonNullable<typeof fork>))).rejects.toThrow(
      /does not extend the chain|unique/,
    );
    const [genesisAgain] = sealChain(
      [{ id: "fork-0", time: "2025-01-01T00:00:00.000Z", type: "x", subject: "s", actor: "a", data: {} }],
      EMPTY_CHAIN_HEAD,
    );
    await expect(backend.db.query(insert, values(genesisAgain as NonNullable<typeof genesisAgain>))).rejects.toThrow(
      /duplicate key|unique/,
    );
  });

  it("names the seq of a row a superuser altered with the trigger disabled", async () => {
    await backend.db.exec(`
      ALTER TABLE evidence_records DISABLE TRIGGER evidence_records_append_only;
      UPDATE evidence_records SET data = '{"allowed":true,"index":42}' WHERE seq = 42;
      ALTER TABLE evidence_records ENABLE TRIGGER evidence_records_append_only;`);
    const ledger = await backend.openLedger(await dataDir());
    const result = verifyBundleText(serializeBundle(await ledger.exportBundle()));
    expect(result).toMatchObject({
      ok: false,
      seq: 42,
      reason: expect.stringMatching(/does not match its hash/) as unknown,
    });
    await ledger.close();
  });
});
