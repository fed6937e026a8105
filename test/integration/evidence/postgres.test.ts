// PostgreSQL-only guarantees: the application role's privileges, and one chain from two replicas.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyBundle } from "../../../src/evidence/chain/bundle.js";
import { generateSigningKey } from "../../../src/evidence/chain/signing.js";
import type { EvidenceLedger } from "../../../src/evidence/ledger.js";
import { createEvidenceLedger } from "../../../src/wiring/ledger.js";
import { EVIDENCE_WRITER_ROLE } from "../../../src/evidence/store/database-roles.js";
import { migrate } from "../../../src/evidence/store/migrations.js";
import type { SqlDatabase } from "../../../src/evidence/store/sql-database.js";
import type { TestDatabase } from "./helpers.js";
import { adminQuery, createTestDatabase, event, makeTempDir, pgDatabase, requirePostgres } from "./helpers.js";

const postgresUp = await requirePostgres();

describe.skipIf(!postgresUp)("evidence ledger on PostgreSQL", () => {
  const key = generateSigningKey();
  const appRole = `aegis_test_app_${randomBytes(4).toString("hex")}`;
  let database: TestDatabase;
  let ownerDb: SqlDatabase;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    ownerDb = pgDatabase(database.url);
    await migrate(ownerDb);
  });
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await ownerDb.close();
    await database.drop();
    await adminQuery(`DROP ROLE IF EXISTS ${appRole}`);
  });

  async function ledgerOn(db: SqlDatabase): Promise<EvidenceLedger> {
    const dir = await makeTempDir();
    const ledger = await createEvidenceLedger(db, key, { dataDir: dir.path, closeDatabase: true });
    cleanups.push(async () => {
      await ledger.close();
      await dir.remove();
    });
    return ledger;
  }

  it("lets a login holding only the writer role append and read, but never UPDATE, DELETE or TRUNCATE", async () => {
    await adminQuery(`CREATE ROLE ${appRole} LOGIN PASSWORD 'app-secret' IN ROLE ${EVIDENCE_WRITER_ROLE}`);
    const url = new URL(database.url);
    url.username = appRole;
    url.password = "app-secret";
    const appDb = pgDatabase(url.toString());
    expect(await migrate(appDb)).toEqual({
      applied: [],
      writerRole: "skipped: the connecting user does not own evidence_records",
    });
    const ledger = await ledgerOn(appDb);
    await Promise.all(Array.from({ length: 10 }, (_, i) => ledger.record({ ...event(i), id: `app-${i}` })));
    expect(verifyBundle(await ledger.exportBundle())).toMatchObject({ ok: true, records: 10 });
    for (const sql of [
      "UPDATE evidence_records SET actor = 'mallory'",
      "DELETE FROM evidence_records",
      "TRUNCATE evidence_records",
    ]) {
      await expect(appDb.query(sql), sql).rejects.toThrow(/permission denied/);
    }
    await expect(
      appDb.exec("ALTER TABLE evidence_records DISABLE TRIGGER evidence_records_append_only"),
    ).rejects.toThrow(/must be owner/);
  });

  it("builds one valid chain from two replicas (two pools) appending at once", async () => {
    const [replicaA, replicaB] = await Promise.all([
      ledgerOn(pgDatabase(database.url)),
      ledgerOn(pgDatabase(database.url)),
    ]);
    const wave = (ledger: EvidenceLedger, name: string, index: number): Promise<void>[] =>
      Array.from({ length: 500 }, (_, i) => ledger.record({ ...event(i), id: `${name}-${index}-${i}` }));
    // Six waves of 500 per replica, so that both have batches in flight at the same moments.
    for (let index = 0; index < 6; index++) {
      await Promise.all([...wave(replicaA, "a", index), ...wave(replicaB, "b", index)]);
    }
    const bundle = await replicaA.exportBundle();
    expect(verifyBundle(bundle)).toMatchObject({ ok: true, records: 6_010 });
    const owners = bundle.records.slice(10).map((r) => r.id[0]);
    const switches = owners.filter((owner, i) => i > 0 && owner !== owners[i - 1]).length;
    expect(switches).toBeGreaterThan(1); // the replicas' batches really interleaved
    expect(new Set(bundle.records.map((r) => r.id)).size).toBe(6_010);
  });
});
