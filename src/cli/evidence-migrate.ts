// `aegis evidence migrate`: one-shot schema migration as the owner login (e.g. a Helm hook Job),
// so that `aegis serve` can run with a login holding only the writer role (SELECT, INSERT).
import type { Command } from "commander";
import { Option } from "commander";
import { EVIDENCE_WRITER_ROLE } from "../evidence/store/database-roles.js";
import type { MigrationReport } from "../evidence/store/migrations.js";

export interface EvidenceMigrateOptions {
  /** Owner login: runs the migrations and the grants. */
  readonly databaseAdminUrl: string;
  /** The serving login; its current_user is the grantee when `databaseRole` is unset. */
  readonly databaseUrl?: string | undefined;
  readonly databaseRole?: string | undefined;
  readonly stdout?: { write(text: string): unknown };
}

/** Returns the exit code: 0 migrated (and granted, when a serving role was named), 1 otherwise. */
export async function evidenceMigrate(opts: EvidenceMigrateOptions): Promise<number> {
  const out = opts.stdout ?? process.stdout;
  // Loaded here, not at the top: every other aegis command starts without the database drivers.
  const [{ createPgDatabase }, { migrate }, { migrateAsAdmin }] = await Promise.all([
    import("../evidence/store/pg-database.js"),
    import("../evidence/store/migrations.js"),
    import("../wiring/ledger.js"),
  ]);
  let report: MigrationReport;
  if (opts.databaseRole !== undefined) {
    report = await migrateAsAdmin(opts.databaseAdminUrl, opts.databaseRole);
  } else if (opts.databaseUrl !== undefined) {
    const serving = createPgDatabase({
      connectionString: opts.databaseUrl,
      maxConnections: 1,
      onIdleClientError: () => undefined,
    });
    try {
      report = await migrateAsAdmin(opts.databaseAdminUrl, serving);
    } finally {
      await serving.close();
    }
  } else {
    const admin = createPgDatabase({
      connectionString: opts.databaseAdminUrl,
      maxConnections: 1,
      onIdleClientError: () => undefined,
    });
    try {
      report = await migrate(admin);
    } finally {
      await admin.close();
    }
  }
  out.write(
    `evidence: schema ready (applied: ${report.applied.length === 0 ? "none" : report.applied.join(", ")}); ` +
      `${EVIDENCE_WRITER_ROLE}: ${report.writerRole}` +
      (report.servingRole === undefined
        ? `; no serving role named (--database-url or --database-role): GRANT ${EVIDENCE_WRITER_ROLE} TO the login AEGIS serves with`
        : `; serving role: ${report.servingRole}`) +
      "\n",
  );
  const granted = report.writerRole === "granted" && (report.servingRole ?? "granted") === "granted";
  return granted ? 0 : 1;
}

export function registerEvidenceMigrateCommand(evidence: Command): void {
  evidence
    .command("migrate")
    .description(
      "apply the evidence schema as the owner login and grant the serving login SELECT and INSERT only (aegis_evidence_writer)",
    )
    .addOption(
      new Option("--database-admin-url <url>", "PostgreSQL login that owns (or will own) the evidence tables")
        .env("AEGIS_DATABASE_ADMIN_URL")
        .makeOptionMandatory(),
    )
    .addOption(
      new Option("--database-url <url>", "the login aegis serve uses: its role is granted the writer role").env(
        "DATABASE_URL",
      ),
    )
    .addOption(
      new Option(
        "--database-role <role>",
        "grant the writer role to this role (instead of the --database-url login)",
      ).env("AEGIS_DATABASE_ROLE"),
    )
    .action(async (flags: EvidenceMigrateOptions) => {
      process.exitCode = await evidenceMigrate(flags);
    });
}
