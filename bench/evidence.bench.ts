// Evidence append throughput on real PostgreSQL against a baseline measured in the same run:
// the same payloads as plain single-row INSERTs (one autocommit round trip each) into a scratch
// table. Both sides get the same load shape (CONCURRENCY callers, each awaiting its write before
// the next, like in-flight admission requests) and the same pool size. verifyPerSec is offline
// verification of the exported full bundle (records per second).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { serializeBundle, verifyBundleText } from "../src/evidence/chain/bundle.js";
import { canonicalJson } from "../src/json/canonical-json.js";
import { generateSigningKey } from "../src/evidence/chain/signing.js";
import { createEvidenceLedger } from "../src/wiring/ledger.js";
import { createPgDatabase } from "../src/evidence/store/pg-database.js";
import { withScratchDatabase } from "./lib/scratch-db.js";
import type { EvidenceEvent } from "../src/ports/evidence.js";

const RECORDS = 20_000;
const CONCURRENCY = 64;
const POOL_SIZE = 4;

export interface EvidenceBenchResult {
  appendPerSec: number;
  baselineInsertPerSec: number;
  verifyPerSec: number;
}

function benchEvent(index: number, prefix: string): EvidenceEvent {
  return {
    id: `${prefix}-${index}`,
    type: "admission.decision",
    subject: `Deployment/prod/web-${index % 50}`,
    actor: "system:serviceaccount:argocd:argocd-application-controller",
    data: {
      allowed: index % 4 !== 0,
      changeHash: `sha256:${"c".repeat(64)}`,
      policies: [{ name: "prod-gate", specHash: `sha256:${"a".repeat(64)}` }],
      violations:
        index % 4 === 0
          ? [{ check: "pinned", rule: "requireImageDigest", message: "image ghcr.io/acme/web:1.3 has no digest" }]
          : [],
    },
  };
}

/** Runs `total` writes through `concurrency` callers; returns writes per second. */
async function throughput(
  total: number,
  concurrency: number,
  write: (index: number) => Promise<void>,
): Promise<number> {
  let next = 0;
  const started = performance.now();
  const caller = async (): Promise<void> => {
    for (let index = next++; index < total; index = next++) await write(index);
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  return Math.round(total / ((performance.now() - started) / 1000));
}

async function measureLedger(url: string, records: number): Promise<{ appendPerSec: number; verifyPerSec: number }> {
  const dataDir = await mkdtemp(join(tmpdir(), "aegis-bench-"));
  const db = createPgDatabase({ connectionString: url, maxConnections: POOL_SIZE, onIdleClientError: () => undefined });
  const ledger = await createEvidenceLedger(db, generateSigningKey(), { dataDir, closeDatabase: true });
  try {
    await throughput(500, CONCURRENCY, (i) => ledger.record(benchEvent(i, "warm-up")));
    const appendPerSec = await throughput(records, CONCURRENCY, (i) => ledger.record(benchEvent(i, "ledger")));
    const text = serializeBundle(await ledger.exportBundle());
    const started = performance.now();
    const result = verifyBundleText(text);
    const seconds = (performance.now() - started) / 1000;
    if (!result.ok) throw new Error(`benchmark bundle does not verify: ${result.reason}`);
    return { appendPerSec, verifyPerSec: Math.round(result.records / seconds) };
  } finally {
    await ledger.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function measureBaseline(url: string, records: number): Promise<number> {
  const pool = new pg.Pool({ connectionString: url, max: POOL_SIZE });
  try {
    await pool.query(`CREATE TABLE bench_baseline (
      id text PRIMARY KEY, event_time text NOT NULL, type text NOT NULL, subject text NOT NULL, actor text NOT NULL, data json NOT NULL)`);
    const insert = async (index: number, prefix: string): Promise<void> => {
      const event = benchEvent(index, prefix);
      await pool.query(
        "INSERT INTO bench_baseline (id, event_time, type, subject, actor, data) VALUES ($1, $2, $3, $4, $5, $6)",
        [event.id, new Date().toISOString(), event.type, event.subject, event.actor, canonicalJson(event.data)],
      );
    };
    await throughput(500, CONCURRENCY, (i) => insert(i, "warm-up"));
    return await throughput(records, CONCURRENCY, (i) => insert(i, "baseline"));
  } finally {
    await pool.end();
  }
}

export async function benchEvidence(
  options: { databaseUrl?: string; records?: number } = {},
): Promise<EvidenceBenchResult> {
  const records = options.records ?? RECORDS;
  return withScratchDatabase(async (url) => {
    const baselineInsertPerSec = await measureBaseline(url, records);
    const { appendPerSec, verifyPerSec } = await measureLedger(url, records);
    return { appendPerSec, baselineInsertPerSec, verifyPerSec };
  }, options.databaseUrl);
}
