// Builds a ledger from settings: PostgreSQL when a URL is given, else PGlite in the data dir;
// the spool and (by default) the signing key live in the data dir too.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../ports/logger.js";
import { silentLogger } from "../ports/logger.js";
import type { SigningKey } from "../evidence/chain/signing.js";
import { Checkpointer } from "../evidence/checkpointer.js";
import { DEFAULT_ORIGIN } from "../evidence/export.js";
import { EvidenceLedger } from "../evidence/ledger.js";
import type { SigningKeySource } from "../evidence/signing-key-file.js";
import { loadSigningKey } from "../evidence/signing-key-file.js";
import { Spool } from "../evidence/spool.js";
import { EvidenceStore } from "../evidence/store/evidence-store.js";
import type { MigrationReport } from "../evidence/store/migrations.js";
import { migrate } from "../evidence/store/migrations.js";
import { createPgDatabase } from "../evidence/store/pg-database.js";
import { openPgliteDatabase } from "../evidence/store/pglite-database.js";
import type { SqlDatabase } from "../evidence/store/sql-database.js";
import { isConnectionError } from "../evidence/store/sql-database.js";

export const SPOOL_FILE_NAME = "evidence-spool.jsonl";
export const PGLITE_DIR_NAME = "pglite";

export interface EvidenceSettings extends SigningKeySource {
  /** PostgreSQL URL; unset: embedded PGlite in `<dataDir>/pglite`. */
  readonly databaseUrl?: string | undefined;
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
  const migrateOnce = (): Promise<MigrationReport> => migrate(db);
  await migrateAtStart(db, migrateOnce, logger);
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
    logger.info({ applied: report.applied, writerRole: report.writerRole }, "evidence: schema ready");
  } catch (err) {
    if (db.backend === "pglite" || !isConnectionError(err)) throw err;
    logger.warn({ err }, "evidence: cannot migrate now (database unreachable?); records spool until it can");
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

/** Signs and stores checkpoints while aegis serve runs (every replica holding the key does). */
export async function startEvidenceCheckpoints(
  ledger: EvidenceLedger,
  settings: SigningKeySource & { readonly intervalMs: number; readonly origin?: string; readonly logger?: Logger },
): Promise<Checkpointer> {
  const { key } = await loadSigningKey(settings);
  return new Checkpointer({
    store: ledger.store,
    key,
    origin: settings.origin ?? DEFAULT_ORIGIN,
    intervalMs: settings.intervalMs,
    logger: settings.logger ?? silentLogger,
  });
}
