// Builds a ledger from settings: PostgreSQL when a URL is given, else PGlite in the data dir;
// the spool and (by default) the signing key live in the data dir too.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../ports/logger.js";
import { silentLogger } from "../ports/logger.js";
import type { SigningKey } from "../evidence/chain/signing.js";
import { HttpWitnessTransport } from "../adapters/witness/http-witness-transport.js";
import type { VerifierKey } from "../evidence/chain/note.js";
import { parseVerifierKey } from "../evidence/chain/note.js";
import { Checkpointer } from "../evidence/checkpointer.js";
import { ConfigMapPublisher } from "../evidence/publish/config-map-publisher.js";
import type { CheckpointPublisher } from "../evidence/publish/publisher.js";
import { WitnessPublisher } from "../evidence/publish/witness-publisher.js";
import type { ConfigMapSlot } from "../ports/kube.js";
import { DEFAULT_ORIGIN } from "../evidence/export.js";
import { EvidenceLedger } from "../evidence/ledger.js";
import type { SigningKeySource } from "../evidence/signing-key-file.js";
import { loadSigningKey } from "../evidence/signing-key-file.js";
import { Spool } from "../evidence/spool.js";
import { EvidenceStore } from "../evidence/store/evidence-store.js";
import { readServingPrivileges, TAMPER_RESISTANCE_FIX, tamperRisks } from "../evidence/store/database-roles.js";
import type { MigrationReport } from "../evidence/store/migrations.js";
import { EVIDENCE_MIGRATIONS, migrate } from "../evidence/store/migrations.js";
import { createPgDatabase } from "../evidence/store/pg-database.js";
import { openPgliteDatabase } from "../evidence/store/pglite-database.js";
import type { SqlDatabase } from "../evidence/store/sql-database.js";
import { isConnectionError } from "../evidence/store/sql-database.js";

export const SPOOL_FILE_NAME = "evidence-spool.jsonl";
export const PGLITE_DIR_NAME = "pglite";

export interface EvidenceSettings extends SigningKeySource {
  /** PostgreSQL URL; unset: embedded PGlite in `<dataDir>/pglite`. */
  readonly databaseUrl?: string | undefined;
  /**
   * Owner login that runs the migrations (and grants the serving login the writer role); the
   * ledger then serves through `databaseUrl`. Unset: `databaseUrl` migrates too (as before).
   */
  readonly databaseAdminUrl?: string | undefined;
  /** Role the admin grants the writer role to; default: the serving connection's current_user. */
  readonly databaseRole?: string | undefined;
  readonly failClosed?: boolean;
  readonly origin?: string;
  readonly maxBatchSize?: number;
  readonly logger?: Logger;
}

export async function openEvidenceDatabase(
  settings: Pick<EvidenceSettings, "databaseUrl" | "dataDir" | "logger">,
): Promise<SqlDatabase> {
  const logger = settings.logger ?? silentLogger;
  if (settings.databaseUrl !== undefined) {
    return createPgDatabase({
      connectionString: settings.databaseUrl,
      onIdleClientError: (err) =>
        logger.warn({ err }, "evidence: idle PostgreSQL connection failed; the pool replaces it"),
    });
  }
  const directory = join(settings.dataDir, PGLITE_DIR_NAME);
  await mkdir(directory, { recursive: true });
  return openPgliteDatabase(directory);
}

export async function openEvidenceLedger(settings: EvidenceSettings): Promise<EvidenceLedger> {
  if (settings.databaseAdminUrl !== undefined && settings.databaseUrl === undefined)
    throw new Error("--database-admin-url needs --database-url (DATABASE_URL): the login AEGIS serves with");
  await mkdir(settings.dataDir, { recursive: true });
  const { key } = await loadSigningKey(settings);
  const db = await openEvidenceDatabase(settings);
  try {
    return await createEvidenceLedger(db, key, { ...settings, closeDatabase: true });
  } catch (err) {
    await db.close();
    throw err;
  }
}

export interface LedgerAssembly extends Omit<EvidenceSettings, "databaseUrl" | "privateKeyPem" | "keyFile"> {
  /** Close `db` when the ledger closes (it was opened for the ledger alone). */
  readonly closeDatabase: boolean;
}

/** A ledger over an already opened database (tests and callers that share the connection). */
export async function createEvidenceLedger(
  db: SqlDatabase,
  key: SigningKey,
  settings: LedgerAssembly,
): Promise<EvidenceLedger> {
  const logger = settings.logger ?? silentLogger;
  const adminUrl = settings.databaseAdminUrl;
  const migrateOnce = (): Promise<MigrationReport> =>
    adminUrl === undefined ? migrate(db) : migrateAsAdmin(adminUrl, settings.databaseRole ?? db, logger);
  await migrateAtStart(db, migrateOnce, logger);
  await checkServingPrivileges(db, logger);
  const { spool, recovery } = await Spool.open(join(settings.dataDir, SPOOL_FILE_NAME), logger);
  if (recovery.records > 0 || recovery.truncatedBytes > 0) logger.info({ ...recovery }, "evidence: spool recovered");
  return new EvidenceLedger({
    store: new EvidenceStore(db),
    spool,
    signingKey: key,
    migrate: migrateOnce,
    failClosed: settings.failClosed ?? false,
    ...(settings.origin === undefined ? {} : { origin: settings.origin }),
    ...(settings.maxBatchSize === undefined ? {} : { maxBatchSize: settings.maxBatchSize }),
    logger,
    ...(settings.closeDatabase ? { onClose: () => db.close() } : {}),
  });
}

// PostgreSQL may be down at start: decisions go on (DESIGN §5), records spool, and the ledger
// migrates before its first append. Any other failure (permissions, a broken schema, an
// embedded database that cannot migrate) is a real fault and stops the start.
async function migrateAtStart(db: SqlDatabase, run: () => Promise<MigrationReport>, logger: Logger): Promise<void> {
  try {
    const report = await run();
    logger.info(
      { applied: report.applied, writerRole: report.writerRole, servingRole: report.servingRole },
      "evidence: schema ready",
    );
    if (report.servingRole !== undefined && report.servingRole !== "granted")
      logger.warn({ servingRole: report.servingRole }, "evidence: the serving login was not given the writer role");
  } catch (err) {
    if (db.backend === "pglite" || !isConnectionError(err)) throw err;
    logger.warn({ err }, "evidence: cannot migrate now (database unreachable?); records spool until it can");
  }
}

/**
 * Migrates through a short-lived pool on the owner login and grants the serving role the writer
 * role; `servingRole` is a name, or the serving database whose current_user it is.
 */
export async function migrateAsAdmin(
  adminUrl: string,
  servingRole: string | SqlDatabase,
  logger: Logger = silentLogger,
): Promise<MigrationReport> {
  const role = typeof servingRole === "string" ? servingRole : await currentUser(servingRole);
  const admin = createPgDatabase({
    connectionString: adminUrl,
    maxConnections: 1,
    onIdleClientError: (err) => logger.warn({ err }, "evidence: idle admin connection failed"),
  });
  try {
    return await migrate(admin, EVIDENCE_MIGRATIONS, { servingRole: role });
  } finally {
    await admin.close();
  }
}

async function currentUser(db: SqlDatabase): Promise<string> {
  const { rows } = await db.query("SELECT current_user AS role");
  return String(rows[0]?.role);
}

// Whether the serving login could rewrite the ledger: as owner or superuser it can
// `ALTER TABLE … DISABLE TRIGGER` and then UPDATE/DELETE. Logged, never fatal (as before).
async function checkServingPrivileges(db: SqlDatabase, logger: Logger): Promise<void> {
  if (!db.supportsRoles) {
    logger.info(
      {},
      "evidence: embedded database (one built-in superuser): the ledger is tamper-evident (aegis evidence verify), not tamper-resistant; use PostgreSQL with --database-admin-url for that",
    );
    return;
  }
  let privileges;
  try {
    privileges = await readServingPrivileges(db);
  } catch (err) {
    logger.warn({ err }, "evidence: could not check the serving login's privileges");
    return;
  }
  if (privileges === undefined) return; // not migrated yet (database unreachable at start)
  const risks = tamperRisks(privileges);
  if (risks.length > 0) {
    logger.warn(
      { role: privileges.role, risks },
      `evidence: the ledger is only tamper-evident, not tamper-resistant: ${risks.join("; ")}, so it can ALTER TABLE … DISABLE TRIGGER and rewrite or delete records (aegis evidence verify would notice; nothing stops it). Fix: ${TAMPER_RESISTANCE_FIX}`,
    );
  }
  if (privileges.cannotAppend.length > 0) {
    logger.warn(
      { role: privileges.role, tables: privileges.cannotAppend },
      "evidence: the serving login lacks INSERT or SELECT on evidence tables; records will spool until it is granted the aegis_evidence_writer role",
    );
  }
}

/**
 * What the CLI needs to export: the store, read-only. No signing key is loaded or created and no
 * migration runs, so a login with SELECT alone is enough (export ships the checkpoints aegis
 * serve stored).
 */
export async function openEvidenceReader(
  settings: Pick<EvidenceSettings, "databaseUrl" | "dataDir" | "logger">,
): Promise<{ store: EvidenceStore; close: () => Promise<void> }> {
  const db = await openEvidenceDatabase(settings);
  return { store: new EvidenceStore(db), close: () => db.close() };
}

export interface CheckpointSettings extends SigningKeySource {
  readonly intervalMs: number;
  readonly origin?: string;
  readonly logger?: Logger;
  /** Where else each checkpoint goes; built from the key (evidencePublishers). */
  readonly publishers?: (key: SigningKey) => readonly CheckpointPublisher[];
  /** Only the leader signs and publishes; default: this replica always does. */
  readonly isLeader?: () => boolean;
}

/** Signs, stores and publishes checkpoints while aegis serve runs (the leader does). */
export async function startEvidenceCheckpoints(
  ledger: EvidenceLedger,
  settings: CheckpointSettings,
): Promise<Checkpointer> {
  const { key } = await loadSigningKey(settings);
  return new Checkpointer({
    store: ledger.store,
    key,
    origin: settings.origin ?? DEFAULT_ORIGIN,
    intervalMs: settings.intervalMs,
    logger: settings.logger ?? silentLogger,
    publishers: settings.publishers?.(key) ?? [],
    ...(settings.isLeader === undefined ? {} : { isLeader: settings.isLeader }),
  });
}

/**
 * `--evidence-witness` entries, `URL` or `URL VKEY` (the witness's signed-note verifier key, to
 * check its cosignatures), comma-separated. Throws naming the bad entry.
 */
export function parseWitnessList(list: string | undefined): { url: string; key: VerifierKey | undefined }[] {
  if (list === undefined || list.trim() === "") return [];
  return list.split(",").map((entry) => {
    const [url = "", vkey, ...rest] = entry.trim().split(/\s+/);
    if (rest.length > 0)
      throw new Error(`--evidence-witness entry ${JSON.stringify(entry)}: expected URL [VERIFIER-KEY]`);
    try {
      new HttpWitnessTransport(url);
      return { url, key: vkey === undefined ? undefined : parseVerifierKey(vkey) };
    } catch (err) {
      throw new Error(
        `--evidence-witness entry ${JSON.stringify(entry)}: ${err instanceof Error ? err.message : String(err)}`,
        {
          cause: err,
        },
      );
    }
  });
}

/** The witnesses, and ConfigMap aegis-evidence-checkpoint in AEGIS's namespace when a cluster is there. */
export function evidencePublishers(settings: {
  readonly witnesses: readonly { url: string; key: VerifierKey | undefined }[];
  readonly configMap?: ConfigMapSlot | undefined;
}): (key: SigningKey) => CheckpointPublisher[] {
  return (key) => [
    ...(settings.configMap === undefined ? [] : [new ConfigMapPublisher(settings.configMap, key.publicKey)]),
    ...settings.witnesses.map(
      (witness) => new WitnessPublisher({ transport: new HttpWitnessTransport(witness.url), witnessKey: witness.key }),
    ),
  ];
}
