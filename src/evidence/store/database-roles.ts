// Least privilege in PostgreSQL: the login AEGIS serves with holds the writer role (SELECT and
// INSERT) and nothing else, while an owner login (`--database-admin-url`) runs the migrations.
// A serving login that owns the table, or is a superuser, can `ALTER TABLE … DISABLE TRIGGER` and
// then rewrite records: the ledger is then only tamper-evident (verify notices), not resistant.
import type { SqlExecutor } from "./sql-database.js";

/** Role to grant to the login the application uses: INSERT and SELECT, never UPDATE/DELETE/TRUNCATE. */
export const EVIDENCE_WRITER_ROLE = "aegis_evidence_writer";

/** Privileges beyond SELECT and INSERT that would let the holder change or remove records. */
const EXCESS_PRIVILEGES = ["UPDATE", "DELETE", "TRUNCATE", "TRIGGER", "REFERENCES"] as const;

export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Evidence tables and sequences in the current schema owned by the migrating user. */
async function evidenceObjects(tx: SqlExecutor): Promise<{ name: string; sequence: boolean }[]> {
  const { rows } = await tx.query(
    `SELECT c.oid::regclass::text AS name, c.relkind = 'S' AS sequence
       FROM pg_class c
      WHERE c.relnamespace = current_schema()::regnamespace
        AND c.relname LIKE 'evidence\\_%'
        AND c.relkind IN ('r', 'p', 'S')
        AND pg_has_role(current_user, c.relowner, 'USAGE')
      ORDER BY c.relname`,
  );
  return rows.map((row) => ({ name: String(row.name), sequence: row.sequence === true }));
}

/**
 * Makes `role` (the serving login) a member of the writer role and revokes any privilege granted
 * to it directly on the evidence tables, so what it holds there is exactly the writer role's
 * SELECT, INSERT (and USAGE on sequences). Runs inside the migration, as the owner.
 */
export async function grantServingRole(tx: SqlExecutor, role: string): Promise<"granted" | `skipped: ${string}`> {
  const { rows } = await tx.query(
    `SELECT r.rolsuper AS superuser,
            pg_has_role(r.oid, c.relowner, 'MEMBER') AS owner,
            r.rolname = current_user AS migrating_user
       FROM pg_roles r, pg_class c
      WHERE r.rolname = $1 AND c.oid = 'evidence_records'::regclass`,
    [role],
  );
  const found = rows[0];
  if (found === undefined) return `skipped: role ${role} does not exist`;
  if (found.migrating_user === true)
    return `skipped: ${role} is the migrating user itself; serve with a login of its own`;
  if (found.superuser === true) return `skipped: ${role} is a superuser, which no grant can restrict`;
  if (found.owner === true) return `skipped: ${role} owns evidence_records (or is a member of its owner)`;
  const grantee = quoteIdentifier(role);
  await tx.exec(`GRANT ${EVIDENCE_WRITER_ROLE} TO ${grantee}`);
  for (const object of await evidenceObjects(tx)) {
    await tx.exec(`REVOKE ALL ON ${object.sequence ? "SEQUENCE" : "TABLE"} ${object.name} FROM ${grantee}`);
  }
  return "granted";
}

export interface ServingPrivileges {
  readonly role: string;
  readonly superuser: boolean;
  /** Evidence tables the role owns (directly or through a role it is a member of). */
  readonly owns: readonly string[];
  /** `TABLE: PRIVILEGE` pairs beyond SELECT and INSERT, on tables the role does not own. */
  readonly excess: readonly string[];
  /** Tables (other than the migrations table) the role cannot INSERT into or SELECT from. */
  readonly cannotAppend: readonly string[];
}

/** What the connected user may do to the evidence tables; undefined when none exist yet. */
export async function readServingPrivileges(db: SqlExecutor): Promise<ServingPrivileges | undefined> {
  const { rows } = await db.query(
    `SELECT current_user AS role,
            r.rolsuper AS superuser,
            c.relname AS name,
            pg_has_role(current_user, c.relowner, 'MEMBER') AS owner,
            has_table_privilege(c.oid, 'SELECT') AND has_table_privilege(c.oid, 'INSERT') AS can_append,
            ARRAY(SELECT p FROM unnest($1::text[]) AS p WHERE has_table_privilege(c.oid, p)) AS excess
       FROM pg_roles r, pg_class c
      WHERE r.rolname = current_user
        AND c.relnamespace = current_schema()::regnamespace
        AND c.relname LIKE 'evidence\\_%'
        AND c.relkind IN ('r', 'p')
      ORDER BY c.relname`,
    [EXCESS_PRIVILEGES],
  );
  const first = rows[0];
  if (first === undefined) return undefined;
  const tables = rows.map((row) => ({
    name: String(row.name),
    owner: row.owner === true,
    canAppend: row.can_append === true,
    excess: Array.isArray(row.excess) ? row.excess.map(String) : [],
  }));
  return {
    role: String(first.role),
    superuser: first.superuser === true,
    owns: tables.filter((t) => t.owner).map((t) => t.name),
    // An owner holds every privilege anyway; name only grants beyond ownership.
    excess: tables.filter((t) => !t.owner).flatMap((t) => t.excess.map((p) => `${t.name}: ${p}`)),
    cannotAppend: tables.filter((t) => !t.canAppend && t.name !== "evidence_schema_migrations").map((t) => t.name),
  };
}

/** Why the role could change or remove records, one phrase each; empty: tamper-resistant. */
export function tamperRisks(privileges: ServingPrivileges): string[] {
  if (privileges.superuser) return [`${privileges.role} is a superuser`];
  const risks: string[] = [];
  if (privileges.owns.length > 0) risks.push(`${privileges.role} owns ${privileges.owns.join(", ")}`);
  if (privileges.excess.length > 0) risks.push(`${privileges.role} holds ${privileges.excess.join(", ")}`);
  return risks;
}

export const TAMPER_RESISTANCE_FIX =
  "migrate as the table owner with a separate --database-admin-url (AEGIS_DATABASE_ADMIN_URL, or `aegis evidence migrate`) and serve with a DATABASE_URL login granted only INSERT and SELECT (the aegis_evidence_writer role)";
