// Least privilege on real PostgreSQL: an owner login (--database-admin-url) migrates and grants
// the serving login the writer role; the serving login can append and verify, and can neither
// change nor remove a record, nor disable the append-only triggers, nor drop the table.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evidenceMigrate } from "../../../src/cli/evidence-migrate.js";
import { verifyBundle } from "../../../src/evidence/chain/bundle.js";
import { generateSigningKey } from "../../../src/evidence/chain/signing.js";
import { readServingPrivileges, tamperRisks } from "../../../src/evidence/store/database-roles.js";
import { EVIDENCE_WRITER_ROLE } from "../../../src/evidence/store/database-roles.js";
import { EVIDENCE_MIGRATIONS } from "../../../src/evidence/store/migrations.js";
import type { SqlDatabase } from "../../../src/evidence/store/sql-database.js";
import type { LogFields, Logger } from "../../../src/ports/logger.js";
import { createEvidenceLedger, startEvidenceCheckpoints } from "../../../src/wiring/ledger.js";
import type { TestDatabase } from "./helpers.js";
import { adminQuery, createTestDatabase, event, makeTempDir, pgDatabase, requirePostgres } from "./helpers.js";

const postgresUp = await requirePostgres();

const ALL_TABLE_PRIVILEGES = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"];

function capturingLogger(): Logger & { lines: { level: string; fields: LogFields; message: string }[] } {
  const lines: { level: string; fields: LogFields; message: string }[] = [];
  const push =
    (level: string) =>
    (fields: LogFields, message: string): void => {
      lines.push({ level, fields, message });
    };
  return { lines, info: push("info"), warn: push("warn"), error: push("error") };
}

describe.skipIf(!postgresUp)("least privilege: admin login migrates, serving login appends only", () => {
  const suffix = randomBytes(4).toString("hex");
  const ownerRole = `aegis_test_owner_${suffix}`;
  const servingRole = `aegis_test_serve_${suffix}`;
  const key = generateSigningKey();
  let database: TestDatabase;
  let ownerUrl: string;
  let servingUrl: string;
  const cleanups: (() => Promise<void>)[] = [];

  function loginUrl(role: string): string {
    const url = new URL(database.url);
    url.username = role;
    url.password = `${role}-secret`;
    return url.toString();
  }

  function serving(): SqlDatabase {
    const db = pgDatabase(servingUrl);
    cleanups.push(() => db.close());
    return db;
  }

  beforeAll(async () => {
    database = await createTestDatabase();
    // A realistic owner: not a superuser; owns the database (so its public schema) and may grant
    // roles (CREATEROLE). The serving login starts with no privilege at all.
    await adminQuery(`CREATE ROLE ${ownerRole} LOGIN CREATEROLE PASSWORD '${ownerRole}-secret'`);
    await adminQuery(`ALTER DATABASE ${database.name} OWNER TO ${ownerRole}`);
    await adminQuery(`CREATE ROLE ${servingRole} LOGIN PASSWORD '${servingRole}-secret'`);
    ownerUrl = loginUrl(ownerRole);
    servingUrl = loginUrl(servingRole);
  });
  afterAll(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
    await database.drop();
    await adminQuery(`DROP ROLE IF EXISTS ${servingRole}`);
    await adminQuery(`DROP ROLE IF EXISTS ${ownerRole}`);
  });

  it("migrates with the admin URL, serves with DATABASE_URL, and cannot tamper", async () => {
    const logger = capturingLogger();
    const dir = await makeTempDir();
    const db = pgDatabase(servingUrl);
    const ledger = await createEvidenceLedger(db, key, {
      dataDir: dir.path,
      closeDatabase: true,
      databaseAdminUrl: ownerUrl,
      logger,
    });
    cleanups.push(async () => {
      await ledger.close();
      await dir.remove();
    });
    const ready = logger.lines.find((line) => line.message === "evidence: schema ready");
    expect(ready?.fields).toMatchObject({
      applied: EVIDENCE_MIGRATIONS.map((m) => m.version),
      writerRole: "granted",
      servingRole: "granted",
    });
    expect(logger.lines.filter((line) => line.level === "warn")).toEqual([]);

    // The owner is the admin login, not the serving one.
    const ownerCheck = pgDatabase(ownerUrl);
    cleanups.push(() => ownerCheck.close());
    const { rows: owners } = await ownerCheck.query(
      "SELECT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE oid = 'evidence_records'::regclass",
    );
    expect(owners[0]?.owner).toBe(ownerRole);

    // Exactly SELECT and INSERT on the records (through the writer role), SELECT on migrations.
    const held = async (table: string): Promise<string[]> => {
      const { rows } = await ownerCheck.query(
        `SELECT p FROM unnest($1::text[]) AS p WHERE has_table_privilege($2, $3::regclass, p)`,
        [ALL_TABLE_PRIVILEGES, servingRole, table],
      );
      return rows.map((row) => String(row.p));
    };
    const { rows: tableRows } = await ownerCheck.query(
      "SELECT relname FROM pg_class WHERE relname LIKE 'evidence\\_%' AND relkind = 'r' ORDER BY relname",
    );
    const tables = tableRows.map((row) => String(row.relname));
    expect(tables).toEqual(expect.arrayContaining(["evidence_records", "evidence_schema_migrations"]));
    for (const table of tables) {
      expect(await held(table), table).toEqual(
        table === "evidence_schema_migrations" ? ["SELECT"] : ["SELECT", "INSERT"],
      );
    }
    const { rows: members } = await ownerCheck.query("SELECT pg_has_role($1, $2, 'MEMBER') AS member", [
      servingRole,
      EVIDENCE_WRITER_ROLE,
    ]);
    expect(members[0]?.member).toBe(true);
    // PUBLIC holds nothing on the evidence tables (no "=…" entry in their ACLs).
    const { rows: acls } = await ownerCheck.query(
      "SELECT relname, relacl::text[] AS acl FROM pg_class WHERE relname LIKE 'evidence\\_%' AND relkind = 'r'",
    );
    for (const row of acls) {
      const acl = (row.acl as string[] | null) ?? [];
      expect(
        acl.filter((entry) => entry.startsWith("=")),
        String(row.relname),
      ).toEqual([]);
    }

    // Append and verify through the ledger, as the serving login.
    await Promise.all(Array.from({ length: 10 }, (_, i) => ledger.record(event(i))));
    // The serving login also stores signed checkpoints (INSERT on evidence_checkpoints).
    const checkpoints = await startEvidenceCheckpoints(ledger, { dataDir: dir.path, intervalMs: 3_600_000 });
    try {
      expect(await checkpoints.checkpoint()).toMatchObject({ checkpoint: { checkpoint: { size: 10 } } });
    } finally {
      await checkpoints.close();
    }
    const bundle = await ledger.exportBundle();
    expect(verifyBundle(bundle)).toMatchObject({ ok: true, records: 10 });

    const app = serving();
    expect(tamperRisks((await readServingPrivileges(app))!)).toEqual([]);
    for (const [sql, refusal] of [
      ["ALTER TABLE evidence_records DISABLE TRIGGER evidence_records_append_only", /must be owner/],
      ["ALTER TABLE evidence_records DISABLE TRIGGER ALL", /must be owner/],
      ["UPDATE evidence_records SET actor = 'mallory' WHERE seq = 3", /permission denied/],
      ["DELETE FROM evidence_records WHERE seq = 3", /permission denied/],
      ["TRUNCATE evidence_records", /permission denied/],
      ["DROP TABLE evidence_records", /must be owner/],
      ["ALTER TABLE evidence_records OWNER TO CURRENT_USER", /must be owner/],
      ["DELETE FROM evidence_schema_migrations", /permission denied/],
    ] as const) {
      await expect(app.exec(sql), sql).rejects.toThrow(refusal);
    }
    // The same for every other evidence table (checkpoints, migrations, any later one).
    for (const table of tables.filter((t) => t !== "evidence_records")) {
      const { rows: columns } = await ownerCheck.query(
        "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum = 1",
        [table],
      );
      const column = String(columns[0]?.attname);
      for (const [sql, refusal] of [
        [`ALTER TABLE ${table} DISABLE TRIGGER ALL`, /must be owner/],
        [`UPDATE ${table} SET ${column} = ${column}`, /permission denied/],
        [`DELETE FROM ${table}`, /permission denied/],
        [`TRUNCATE ${table}`, /permission denied/],
        [`DROP TABLE ${table}`, /must be owner/],
      ] as const) {
        await expect(app.exec(sql), sql).rejects.toThrow(refusal);
      }
    }
    // Without grant option, GRANT is only a warning ("no privileges were granted"), and changes nothing.
    await app.exec("GRANT UPDATE, DELETE, TRUNCATE ON evidence_records TO CURRENT_USER");
    expect(await held("evidence_records")).toEqual(["SELECT", "INSERT"]);
    // Nothing changed: the same ten records still verify, byte for byte the same chain.
    const after = await ledger.exportBundle();
    expect(verifyBundle(after)).toMatchObject({ ok: true, records: 10 });
    expect(after.records.map((r) => r.hash)).toEqual(bundle.records.map((r) => r.hash));
  });

  it("`aegis evidence migrate` is idempotent and re-states the grants", async () => {
    const output: string[] = [];
    const code = await evidenceMigrate({
      databaseAdminUrl: ownerUrl,
      databaseUrl: servingUrl,
      stdout: { write: (text: string) => output.push(text) },
    });
    expect(code).toBe(0);
    expect(output.join("")).toMatch(/applied: none\); aegis_evidence_writer: granted; serving role: granted/);
  });

  it("warns at start when the serving login owns the table (tamper-evident only)", async () => {
    const logger = capturingLogger();
    const dir = await makeTempDir();
    const ledger = await createEvidenceLedger(pgDatabase(ownerUrl), key, {
      dataDir: dir.path,
      closeDatabase: true,
      logger,
    });
    cleanups.push(async () => {
      await ledger.close();
      await dir.remove();
    });
    const warnings = logger.lines.filter((line) => line.level === "warn");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toMatch(/only tamper-evident, not tamper-resistant/);
    expect(warnings[0]?.message).toMatch(/--database-admin-url/);
    expect(warnings[0]?.fields).toMatchObject({
      role: ownerRole,
      risks: [expect.stringMatching(new RegExp(`^${ownerRole} owns .*evidence_records`))],
    });
    // A superuser DATABASE_URL (the test cluster's own login) is reported as such.
    const superuser = pgDatabase(database.url);
    cleanups.push(() => superuser.close());
    expect(tamperRisks((await readServingPrivileges(superuser))!)).toEqual([expect.stringMatching(/is a superuser$/)]);
  });

  it("refuses to grant the writer role to a superuser or to the admin login itself", async () => {
    const output: string[] = [];
    const stdout = { write: (text: string) => output.push(text) };
    expect(await evidenceMigrate({ databaseAdminUrl: ownerUrl, databaseRole: ownerRole, stdout })).toBe(1);
    expect(output.pop()).toMatch(/serving role: skipped: .* is the migrating user itself/);
    expect(await evidenceMigrate({ databaseAdminUrl: ownerUrl, databaseRole: "postgres", stdout })).toBe(1);
    expect(output.pop()).toMatch(/serving role: skipped: postgres is a superuser/);
  });
});
