// Spool failover, deterministic: PGlite behind a wrapper that can play "unreachable", so every
// path (spool, drain, fail-closed, fail-open, lost COMMIT reply) runs without stopping a server.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyBundle } from "../../../src/evidence/chain/bundle.js";
import type { SigningKey } from "../../../src/evidence/chain/signing.js";
import { generateSigningKey } from "../../../src/evidence/chain/signing.js";
import { EvidenceLedger } from "../../../src/evidence/ledger.js";
import { evidenceReady } from "../../../src/evidence/readiness.js";
import { SPOOL_FILE_NAME } from "../../../src/wiring/ledger.js";
import { Spool } from "../../../src/evidence/spool.js";
import { EvidenceStore } from "../../../src/evidence/store/evidence-store.js";
import { migrate } from "../../../src/evidence/store/migrations.js";
import { openPgliteDatabase } from "../../../src/evidence/store/pglite-database.js";
import type { SqlDatabase, SqlExecutor } from "../../../src/evidence/store/sql-database.js";
import { event, makeTempDir } from "./helpers.js";

class Unreachable extends Error {
  readonly code = "ECONNREFUSED";
}

/** Passes everything to `inner`, unless told the database is down or that COMMIT replies get lost. */
class FlakyDatabase implements SqlDatabase {
  readonly backend = "pglite";
  readonly supportsRoles = false;
  down = false;
  loseCommitReplies = false;
  /** While set, transactions wait for it before they start (a server that stopped answering). */
  hang: Promise<void> | undefined;

  constructor(private readonly inner: SqlDatabase) {}

  async query(text: string, params?: readonly unknown[]): Promise<{ rows: Record<string, unknown>[] }> {
    this.check();
    return this.inner.query(text, params);
  }

  async exec(script: string): Promise<void> {
    this.check();
    await this.inner.exec(script);
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    this.check();
    await this.hang;
    const result = await this.inner.transaction(work);
    if (this.loseCommitReplies) throw new Unreachable("connection lost after COMMIT was sent");
    return result;
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private check(): void {
    if (this.down) throw new Unreachable("connect ECONNREFUSED 127.0.0.1:5432");
  }
}

let inner: SqlDatabase;
let key: SigningKey;
const removals: (() => Promise<void>)[] = [];

beforeAll(async () => {
  const dir = await makeTempDir("aegis-failover-");
  removals.push(dir.remove);
  inner = await openPgliteDatabase(join(dir.path, "pglite"));
  await migrate(inner);
  key = generateSigningKey();
});
afterAll(async () => {
  await inner.close();
  for (const remove of removals) await remove();
});

async function ledgerOn(
  db: FlakyDatabase,
  options: { failClosed?: boolean; spool?: Spool; appendTimeoutMs?: number } = {},
): Promise<EvidenceLedger> {
  const dir = await makeTempDir();
  removals.push(dir.remove);
  const spool = options.spool ?? (await Spool.open(join(dir.path, SPOOL_FILE_NAME))).spool;
  return new EvidenceLedger({
    store: new EvidenceStore(db),
    spool,
    signingKey: key,
    migrate: () => migrate(db),
    failClosed: options.failClosed ?? false,
    appendTimeoutMs: options.appendTimeoutMs ?? 2_000,
    retryDelayMs: { initial: 10, max: 50 },
  });
}

async function idsInDatabase(): Promise<string[]> {
  const { rows } = await inner.query("SELECT id FROM evidence_records ORDER BY seq");
  return rows.map((row) => String(row.id));
}

describe("evidence ledger when the database is unreachable", () => {
  it("spools, then drains in order once the database returns: none lost, none twice", async () => {
    const db = new FlakyDatabase(inner);
    const ledger = await ledgerOn(db);
    await Promise.all(Array.from({ length: 50 }, (_, i) => ledger.record({ ...event(i), id: `a-${i}` })));
    db.down = true;
    await Promise.all(Array.from({ length: 300 }, (_, i) => ledger.record({ ...event(i), id: `b-${i}` })));
    expect(ledger.metrics).toMatchObject({ spoolDepth: 300, spooledTotal: 300, databaseReachable: false });
    expect(ledger.metrics.lagSeconds).toBeGreaterThanOrEqual(0);
    db.down = false;
    // Recorded after the outage, yet must land behind the spooled records.
    const late = ledger.record({ ...event(0), id: "c-0" });
    await late;
    await ledger.waitUntilDrained(10_000);
    const ids = await idsInDatabase();
    expect(ids).toEqual([
      ...Array.from({ length: 50 }, (_, i) => `a-${i}`),
      ...Array.from({ length: 300 }, (_, i) => `b-${i}`),
      "c-0",
    ]);
    expect(ledger.metrics).toMatchObject({ spoolDepth: 0, appendedTotal: 351, databaseReachable: true, lagSeconds: 0 });
    expect(verifyBundle(await ledger.exportBundle()).ok).toBe(true);
    await ledger.close();
  });

  it("appends a batch once when the COMMIT reply was lost (replayed from the spool, skipped by id)", async () => {
    const db = new FlakyDatabase(inner);
    const ledger = await ledgerOn(db);
    await ledger.record({ ...event(0), id: "warm-up" }); // schema checked before replies get lost
    db.loseCommitReplies = true;
    await Promise.all(Array.from({ length: 20 }, (_, i) => ledger.record({ ...event(i), id: `lost-reply-${i}` })));
    db.loseCommitReplies = false;
    await ledger.waitUntilDrained(10_000);
    const ids = (await idsInDatabase()).filter((id) => id.startsWith("lost-reply-"));
    expect(ids).toHaveLength(20);
    // At least the batch whose reply was lost came back from the spool and was recognised by id.
    expect(ledger.metrics.duplicateTotal).toBeGreaterThanOrEqual(1);
    expect(verifyBundle(await ledger.exportBundle()).ok).toBe(true);
    await ledger.close();
  });

  it("does not hold record() while the database hangs: spools after the deadline, appends once", async () => {
    const db = new FlakyDatabase(inner);
    const ledger = await ledgerOn(db, { appendTimeoutMs: 100 });
    await ledger.record({ ...event(0), id: "hang-warm-up" });
    let answer = (): void => undefined;
    db.hang = new Promise((resolve) => (answer = resolve));
    const started = Date.now();
    await Promise.all(Array.from({ length: 10 }, (_, i) => ledger.record({ ...event(i), id: `hang-${i}` })));
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(ledger.metrics.spoolDepth).toBe(10);
    db.hang = undefined;
    answer(); // the abandoned transaction now runs and commits too
    await ledger.waitUntilDrained(10_000);
    expect((await idsInDatabase()).filter((id) => id.startsWith("hang-"))).toEqual([
      "hang-warm-up",
      ...Array.from({ length: 10 }, (_, i) => `hang-${i}`),
    ]);
    expect(verifyBundle(await ledger.exportBundle()).ok).toBe(true);
    await ledger.close();
  });

  it("rejects, whatever failClosed says, when the record can be made durable nowhere", async () => {
    for (const failClosed of [false, true]) {
      const db = new FlakyDatabase(inner);
      const dir = await makeTempDir();
      removals.push(dir.remove);
      const { spool } = await Spool.open(join(dir.path, SPOOL_FILE_NAME));
      await spool.close(); // every spool write now fails
      const ledger = await ledgerOn(db, { failClosed, spool });
      db.down = true;
      const id = `nowhere-${String(failClosed)}`;
      await expect(ledger.record({ ...event(1), id })).rejects.toThrow(failClosed ? /fail-closed/ : /cannot write/);
      expect(ledger.metrics).toMatchObject({ rejectedTotal: 1, spoolDepth: 0 });
      expect(evidenceReady(ledger.health, new Date())).toBe(false); // /readyz: send admissions elsewhere
      db.down = false;
      await ledger.record({ ...event(2), id: `${id}-after` });
      expect(await idsInDatabase()).not.toContain(id); // never held in memory and appended later
      expect(await idsInDatabase()).toContain(`${id}-after`);
      await ledger.close();
    }
  });

  it("without failClosed, a failed spool write rejects, counted, naming the spool file", async () => {
    const db = new FlakyDatabase(inner);
    const dir = await makeTempDir();
    removals.push(dir.remove);
    const { spool } = await Spool.open(join(dir.path, SPOOL_FILE_NAME));
    await spool.close();
    const ledger = await ledgerOn(db, { failClosed: false, spool });
    db.down = true;
    await expect(ledger.record({ ...event(1), id: "memory-1" })).rejects.toThrow(
      `evidence could not be made durable: not committed to the database, and evidence spool ${spool.path}: cannot write 1 records`,
    );
    expect(ledger.metrics).toMatchObject({ rejectedTotal: 1, spoolWriteFailuresTotal: 1, spoolDepth: 0 });
    await ledger.close();
    expect(evidenceReady(ledger.health, new Date())).toBe(false); // closed: accepts nothing
  });

  it("with failClosed, does not spool: rejects while the database is down, appends once it is back", async () => {
    const db = new FlakyDatabase(inner);
    const ledger = await ledgerOn(db, { failClosed: true });
    db.down = true;
    await expect(ledger.record({ ...event(1), id: "strict-1" })).rejects.toThrow(
      /not committed to the database and --evidence-fail-closed refuses the spool: .*ECONNREFUSED/,
    );
    expect(ledger.metrics).toMatchObject({
      rejectedTotal: 1,
      spoolDepth: 0,
      spooledTotal: 0,
      spoolWriteFailuresTotal: 0,
    });
    db.down = false;
    await ledger.record({ ...event(2), id: "strict-2" });
    expect(await idsInDatabase()).toContain("strict-2");
    expect(await idsInDatabase()).not.toContain("strict-1");
    await ledger.close();
  });

  it("starts with the database down: migrates and appends once it is back", async () => {
    const db = new FlakyDatabase(inner);
    db.down = true;
    const ledger = await ledgerOn(db);
    await ledger.record({ ...event(3), id: "started-down" });
    expect(ledger.metrics.spoolDepth).toBe(1);
    db.down = false;
    await ledger.waitUntilDrained(10_000);
    expect(await idsInDatabase()).toContain("started-down");
    await ledger.close();
  });

  it("rejects events that cannot become a record, naming the problem", async () => {
    const ledger = await ledgerOn(new FlakyDatabase(inner));
    await expect(ledger.record({ ...event(1), data: { n: Number.NaN } })).rejects.toThrow(/data is not JSON.*NaN/);
    await expect(ledger.record({ ...event(1), subject: "" })).rejects.toThrow(/subject/);
    await expect(ledger.record({ ...event(1), actor: "a\u0000b" })).rejects.toThrow(/NUL/);
    await ledger.close();
    await expect(ledger.record(event(1))).rejects.toThrow(/closed/);
  });
});
