// Versioned schema of the evidence ledger, applied on start by every replica. Kept as TypeScript
// (not files in migrations/) so the built program carries its schema without path lookups.
import { GENESIS_PREV_HASH } from "../chain/hashing.js";
import { EVIDENCE_WRITER_ROLE, grantServingRole } from "./database-roles.js";
import type { SqlDatabase, SqlExecutor } from "./sql-database.js";
import { sqlState } from "./sql-database.js";

/** Advisory lock keys, (namespace, key): "AEGI" plus one key per serialised activity. */
export const ADVISORY_LOCK_NAMESPACE = 0x41454749;
export const MIGRATION_LOCK_KEY = 1;
export const APPEND_LOCK_KEY = 2;
export const CHECKPOINT_LOCK_KEY = 3;

export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

const DIGEST_CHECK = "'^sha256:[0-9a-f]{64}$'";

export const EVIDENCE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "evidence_records: hash chain, append-only triggers",
    sql: `
CREATE TABLE evidence_records (
  seq         bigint      NOT NULL PRIMARY KEY CHECK (seq >= 0),
  id          text        NOT NULL UNIQUE CHECK (char_length(id) BETWEEN 1 AND 256),
  event_time  text        NOT NULL,
  type        text        NOT NULL,
  subject     text        NOT NULL,
  actor       text        NOT NULL,
  -- json (not jsonb) keeps the canonical text exactly as hashed.
  data        json        NOT NULL,
  -- UNIQUE(prev_hash): two records can never claim the same predecessor, so the chain cannot fork.
  prev_hash   text        NOT NULL UNIQUE CHECK (prev_hash ~ ${DIGEST_CHECK}),
  hash        text        NOT NULL UNIQUE CHECK (hash ~ ${DIGEST_CHECK}),
  inserted_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT evidence_records_genesis_first CHECK ((seq = 0) = (prev_hash = '${GENESIS_PREV_HASH}'))
);
COMMENT ON TABLE evidence_records IS 'AEGIS evidence hash chain (DESIGN §5); append-only, see the evidence_records_append_only trigger';
CREATE INDEX evidence_records_subject ON evidence_records (subject, seq);

CREATE FUNCTION evidence_records_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'evidence_records is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'evidence is corrected by appending a new record, never by changing one';
END $$;
-- Statement level, so even an UPDATE or DELETE that matches no row is refused.
CREATE TRIGGER evidence_records_append_only
  BEFORE UPDATE OR DELETE OR TRUNCATE ON evidence_records
  FOR EACH STATEMENT EXECUTE FUNCTION evidence_records_refuse_change();

-- Defence in depth behind the writer's advisory lock: a row must extend the chain (next seq,
-- prev_hash = hash of seq-1). Rows inserted earlier by the same statement are visible here.
CREATE FUNCTION evidence_records_check_link() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  previous_hash text;
BEGIN
  IF NEW.seq = 0 THEN
    RETURN NEW;
  END IF;
  SELECT hash INTO previous_hash FROM evidence_records WHERE seq = NEW.seq - 1;
  IF previous_hash IS NULL OR previous_hash <> NEW.prev_hash THEN
    RAISE EXCEPTION 'evidence_records: seq % does not extend the chain (seq % has hash %, record points at %)',
      NEW.seq, NEW.seq - 1, coalesce(previous_hash, 'none'), NEW.prev_hash
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER evidence_records_extends_chain
  BEFORE INSERT ON evidence_records
  FOR EACH ROW EXECUTE FUNCTION evidence_records_check_link();
`,
  },
  {
    version: 2,
    name: "evidence_checkpoints: signed tree heads stored by aegis serve, append-only",
    sql: `
CREATE TABLE evidence_checkpoints (
  size        bigint      NOT NULL PRIMARY KEY CHECK (size > 0),
  origin      text        NOT NULL,
  root_hash   text        NOT NULL CHECK (root_hash ~ ${DIGEST_CHECK}),
  signed_at   text        NOT NULL,
  key_id      text        NOT NULL CHECK (key_id ~ ${DIGEST_CHECK}),
  public_key  text        NOT NULL,
  signature   text        NOT NULL CHECK (signature ~ '^[0-9a-f]{128}$'),
  inserted_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE evidence_checkpoints IS 'AEGIS signed checkpoints over evidence_records (src/evidence/checkpointer.ts); append-only';

CREATE FUNCTION evidence_checkpoints_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'evidence_checkpoints is append-only: % refused', TG_OP
    USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER evidence_checkpoints_append_only
  BEFORE UPDATE OR DELETE OR TRUNCATE ON evidence_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION evidence_checkpoints_refuse_change();

-- A checkpoint only ever covers more of the log than the one before it.
CREATE FUNCTION evidence_checkpoints_check_growth() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM evidence_checkpoints WHERE size >= NEW.size) THEN
    RAISE EXCEPTION 'evidence_checkpoints: size % does not grow the log', NEW.size
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER evidence_checkpoints_grow
  BEFORE INSERT ON evidence_checkpoints
  FOR EACH ROW EXECUTE FUNCTION evidence_checkpoints_check_growth();
`,
  },
];

/**
 * Creates the writer role when missing and (re)states its grants. Roles are cluster-wide, so a
 * replica migrating another database may create it at the same moment: that race is the one
 * expected error and is tolerated by the EXCEPTION clause.
 *
 * The grants cover every table and sequence of the current schema named `evidence_…` that the
 * migrating user owns (so a later migration's tables are covered without a new grant): ALL is
 * revoked from PUBLIC and from the role, then the role gets SELECT and INSERT (SELECT only on
 * `evidence_schema_migrations`) and USAGE on sequences. Nothing else: no UPDATE, DELETE,
 * TRUNCATE, TRIGGER or REFERENCES, and never ownership, so a login holding only this role can
 * neither change a row nor ALTER (DISABLE TRIGGER), DROP or TRUNCATE a table.
 */
export const EVIDENCE_WRITER_ROLE_SQL = `
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${EVIDENCE_WRITER_ROLE}') THEN
    CREATE ROLE ${EVIDENCE_WRITER_ROLE} NOLOGIN;
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  RAISE NOTICE 'role ${EVIDENCE_WRITER_ROLE} was created concurrently';
END $$;
DO $$
DECLARE
  object record;
BEGIN
  FOR object IN
    SELECT c.oid::regclass AS name, c.relkind, c.relname
      FROM pg_class c
     WHERE c.relnamespace = current_schema()::regnamespace
       AND c.relname LIKE 'evidence\\_%'
       AND c.relkind IN ('r', 'p', 'S')
       AND pg_has_role(current_user, c.relowner, 'USAGE')
  LOOP
    IF object.relkind = 'S' THEN
      EXECUTE format('REVOKE ALL ON SEQUENCE %s FROM PUBLIC, ${EVIDENCE_WRITER_ROLE}', object.name);
      EXECUTE format('GRANT USAGE ON SEQUENCE %s TO ${EVIDENCE_WRITER_ROLE}', object.name);
    ELSE
      EXECUTE format('REVOKE ALL ON TABLE %s FROM PUBLIC, ${EVIDENCE_WRITER_ROLE}', object.name);
      IF object.relname = 'evidence_schema_migrations' THEN
        EXECUTE format('GRANT SELECT ON TABLE %s TO ${EVIDENCE_WRITER_ROLE}', object.name);
      ELSE
        EXECUTE format('GRANT SELECT, INSERT ON TABLE %s TO ${EVIDENCE_WRITER_ROLE}', object.name);
      END IF;
    END IF;
  END LOOP;
END $$;
`;

export interface MigrateOptions {
  /**
   * The login AEGIS serves with, when it is not the migrating user (`--database-admin-url`):
   * made a member of the writer role, with its own direct grants on the evidence tables revoked.
   */
  readonly servingRole?: string | undefined;
}

export interface MigrationReport {
  /** Versions applied by this call (empty when the schema was up to date). */
  readonly applied: readonly number[];
  /** Whether the writer role and its grants were set up, or why not. */
  readonly writerRole: "granted" | `skipped: ${string}`;
  /** Present when `servingRole` was asked for: whether it now holds the writer role, or why not. */
  readonly servingRole?: "granted" | `skipped: ${string}`;
}

/**
 * Applies pending migrations in one transaction under an advisory lock, so replicas starting
 * together apply each version exactly once and never see a half-made schema. A login that may
 * not create objects (e.g. one holding only the writer role) works as long as nothing is pending.
 */
export async function migrate(
  db: SqlDatabase,
  migrations: readonly Migration[] = EVIDENCE_MIGRATIONS,
  options: MigrateOptions = {},
): Promise<MigrationReport> {
  return db.transaction(async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock($1::int, $2::int)", [ADVISORY_LOCK_NAMESPACE, MIGRATION_LOCK_KEY]);
    const done = await appliedVersions(tx);
    const pending = migrations.filter((migration) => !done.has(migration.version));
    for (const migration of pending) await applyMigration(tx, migration);
    const writerRole = db.supportsRoles ? await setUpWriterRole(tx) : "skipped: embedded database has a single user";
    const applied = pending.map((m) => m.version);
    if (options.servingRole === undefined) return { applied, writerRole };
    const servingRole: MigrationReport["servingRole"] =
      writerRole === "granted"
        ? await grantServingRole(tx, options.servingRole)
        : `skipped: the writer role was not set up (${writerRole})`;
    return { applied, writerRole, servingRole };
  });
}

async function appliedVersions(tx: SqlExecutor): Promise<Set<number>> {
  // Checked first so that a restricted login never runs DDL, not even CREATE … IF NOT EXISTS.
  const { rows } = await tx.query("SELECT to_regclass('evidence_schema_migrations') IS NOT NULL AS present");
  if (rows[0]?.present !== true) {
    await tx.exec(`CREATE TABLE evidence_schema_migrations (
      version    integer     PRIMARY KEY,
      name       text        NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    return new Set();
  }
  const versions = await tx.query("SELECT version FROM evidence_schema_migrations");
  return new Set(versions.rows.map((row) => Number(row.version)));
}

async function applyMigration(tx: SqlExecutor, migration: Migration): Promise<void> {
  try {
    await tx.exec(migration.sql);
  } catch (err) {
    // 42501 insufficient_privilege: a serving login (INSERT/SELECT only) met a pending migration.
    const hint =
      sqlState(err) === "42501"
        ? "; the connecting user may not change the schema: migrate as the owner (aegis serve --database-admin-url, or aegis evidence migrate)"
        : "";
    throw new Error(`evidence migration ${migration.version} (${migration.name}) failed: ${String(err)}${hint}`, {
      cause: err,
    });
  }
  await tx.query("INSERT INTO evidence_schema_migrations (version, name) VALUES ($1, $2)", [
    migration.version,
    migration.name,
  ]);
}

async function setUpWriterRole(tx: SqlExecutor): Promise<MigrationReport["writerRole"]> {
  const { rows } = await tx.query(
    `SELECT r.rolsuper AS superuser,
            r.rolcreaterole AS create_role,
            pg_has_role(current_user, c.relowner, 'USAGE') AS owns_table,
            EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1) AS role_exists
       FROM pg_roles r, pg_class c
      WHERE r.rolname = current_user AND c.oid = 'evidence_records'::regclass`,
    [EVIDENCE_WRITER_ROLE],
  );
  const can = rows[0];
  if (can === undefined) return "skipped: cannot read the current role";
  if (can.superuser !== true && can.owns_table !== true)
    return "skipped: the connecting user does not own evidence_records";
  if (can.superuser !== true && can.create_role !== true && can.role_exists !== true) {
    return `skipped: the connecting user may not create role ${EVIDENCE_WRITER_ROLE}`;
  }
  await tx.exec(EVIDENCE_WRITER_ROLE_SQL);
  return "granted";
}
