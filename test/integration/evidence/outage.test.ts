// PostgreSQL stops in the middle of a stream of 10 000 records and comes back: every record is
// in the chain exactly once, in the order it was recorded. Stops the shared local cluster for a
// few seconds (DESIGN §5 "If PostgreSQL is down … none is lost").
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { verifyBundle } from "../../../src/evidence/chain/bundle.js";
import { generateSigningKey } from "../../../src/evidence/chain/signing.js";
import { createEvidenceLedger } from "../../../src/wiring/ledger.js";
import { event, createTestDatabase, makeTempDir, pgDatabase, requirePostgres } from "./helpers.js";

const run = promisify(execFile);
const postgresUp = await requirePostgres();
const [PG_VERSION = "15", PG_CLUSTER = "main"] = (process.env.AEGIS_PG_CLUSTER ?? "15/main").split("/");
const TOTAL = 10_000;

async function clusterRunning(): Promise<boolean> {
  try {
    await run("pg_ctlcluster", [PG_VERSION, PG_CLUSTER, "status"]);
    return true;
  } catch {
    return false; // status exits 3 when the cluster is down
  }
}

async function stopPostgres(): Promise<void> {
  await run("pg_ctlcluster", [PG_VERSION, PG_CLUSTER, "stop", "-m", "fast"]);
}

/** Starts the cluster when it is down and waits until it accepts connections. */
async function ensurePostgresRunning(): Promise<void> {
  if (!(await clusterRunning())) await run("pg_ctlcluster", [PG_VERSION, PG_CLUSTER, "start"]);
  for (let attempt = 0; attempt < 150; attempt++) {
    try {
      await run("pg_isready", ["-q", "-h", "127.0.0.1"]);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  throw new Error(`PostgreSQL ${PG_VERSION}/${PG_CLUSTER} did not come back`);
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(!postgresUp)("evidence ledger through a PostgreSQL outage", () => {
  it(`keeps all ${TOTAL} records exactly once when PostgreSQL stops mid-stream`, { timeout: 240_000 }, async () => {
    const database = await createTestDatabase();
    const dir = await makeTempDir();
    const ledger = await createEvidenceLedger(
      pgDatabase(database.url, { connectTimeoutMs: 1_000 }),
      generateSigningKey(),
      {
        dataDir: dir.path,
        closeDatabase: true,
      },
    );
    const pending: Promise<void>[] = [];
    const recordRange = async (from: number, to: number): Promise<void> => {
      for (let i = from; i < to; i++) {
        pending.push(ledger.record({ ...event(i), id: `outage-${i}` }));
        if (i % 100 === 99) await pause(5); // a steady stream, not one burst
      }
    };
    try {
      await recordRange(0, 3_000);
      const stopping = stopPostgres();
      await recordRange(3_000, 6_000); // while the server shuts down under in-flight batches
      await stopping;
      await recordRange(6_000, 8_000); // server down: these can only be spooled
      expect(ledger.metrics.databaseReachable).toBe(false);
      expect(ledger.metrics.spoolDepth).toBeGreaterThan(0);
      await ensurePostgresRunning();
      await recordRange(8_000, TOTAL);
      await Promise.all(pending); // every record() resolved: each record was durable somewhere
      await ledger.waitUntilDrained(120_000);
      const bundle = await ledger.exportBundle();
      expect(verifyBundle(bundle)).toMatchObject({ ok: true, kind: "full", records: TOTAL });
      expect(bundle.records.map((r) => r.id)).toEqual(Array.from({ length: TOTAL }, (_, i) => `outage-${i}`));
      expect(ledger.metrics).toMatchObject({ spoolDepth: 0, queueDepth: 0, lagSeconds: 0 });
      expect(ledger.metrics.spooledTotal).toBeGreaterThan(2_000);
    } finally {
      // Even when an assertion failed: the cluster is shared with every other test.
      await ensurePostgresRunning();
      await ledger.close();
      await database.drop();
      await dir.remove();
    }
  });
});
