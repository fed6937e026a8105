// Shared set-up for the evidence integration tests: a fresh PostgreSQL database per test file
// (Trillian's testdbpgx pattern), temporary data dirs, and the two storage backends.
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { SigningKey } from "../../../src/evidence/chain/signing.js";
import { generateSigningKey } from "../../../src/evidence/chain/signing.js";
import type { EvidenceLedger } from "../../../src/evidence/ledger.js";
import { createEvidenceLedger } from "../../../src/wiring/ledger.js";
import type { LedgerAssembly } from "../../../src/wiring/ledger.js";
import { createPgDatabase } from "../../../src/evidence/store/pg-database.js";
import { openPgliteDatabase } from "../../../src/evidence/store/pglite-database.js";
import type { SqlDatabase } from "../../../src/evidence/store/sql-database.js";

export const ADMIN_URL = process.env.DATABASE_URL ?? "postgres://aegis:aegis@127.0.0.1:5432/aegis";

/** Whether PostgreSQL answers. Under CI a missing PostgreSQL is a failure, never a skip (STYLE P8). */
export async function requirePostgres(): Promise<boolean> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch (err) {
    if (process.env.CI)
      throw new Error(`PostgreSQL at ${ADMIN_URL} is required under CI: ${String(err)}`, { cause: err });
    console.warn(`skipping PostgreSQL evidence tests: ${String(err)}`);
    return false;
  }
}

export async function adminQuery(sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    return await client.query(sql, params);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `aegis_test_${randomBytes(6).toString("hex")}`;
  await adminQuery(`CREATE DATABASE ${name}`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).then(() => undefined),
  };
}

export async function makeTempDir(prefix = "aegis-evidence-"): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export function pgDatabase(url: string, overrides: { connectTimeoutMs?: number } = {}): SqlDatabase {
  return createPgDatabase({
    connectionString: url,
    connectTimeoutMs: overrides.connectTimeoutMs ?? 3_000,
    onIdleClientError: () => undefined, // expected while a test stops PostgreSQL
  });
}

/** One storage backend under test: a database handle (for direct SQL) and a way to open ledgers on it. */
export interface BackendUnderTest {
  readonly name: "postgres" | "pglite";
  readonly db: SqlDatabase;
  readonly key: SigningKey;
  openLedger(dataDir: string, settings?: Partial<LedgerAssembly>): Promise<EvidenceLedger>;
  close(): Promise<void>;
}

export async function openBackend(name: "postgres" | "pglite"): Promise<BackendUnderTest> {
  const key = generateSigningKey();
  if (name === "postgres") {
    const database = await createTestDatabase();
    const db = pgDatabase(database.url);
    return backend(name, db, key, async () => {
      await db.close();
      await database.drop();
    });
  }
  const dir = await makeTempDir("aegis-pglite-");
  const db = await openPgliteDatabase(join(dir.path, "pglite"));
  return backend(name, db, key, async () => {
    await db.close();
    await dir.remove();
  });
}

function backend(
  name: "postgres" | "pglite",
  db: SqlDatabase,
  key: SigningKey,
  close: () => Promise<void>,
): BackendUnderTest {
  return {
    name,
    db,
    key,
    openLedger: (dataDir, settings = {}) =>
      createEvidenceLedger(db, key, { dataDir, closeDatabase: false, ...settings }),
    close,
  };
}

export function event(
  index: number,
  subject = `Deployment/prod/web-${index % 5}`,
): {
  type: "admission.decision";
  subject: string;
  actor: string;
  data: Record<string, unknown>;
  id: string;
} {
  return {
    type: "admission.decision",
    subject,
    actor: "system:serviceaccount:ci:deployer",
    data: { allowed: index % 3 !== 0, index, policies: [{ name: "prod-gate", specHash: `sha256:${"a".repeat(64)}` }] },
    id: `it-${index}`,
  };
}
