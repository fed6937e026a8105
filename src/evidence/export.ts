// Builds bundles from the database: the records asked for, and the checkpoints `aegis serve`
// signed and stored in the ledger, from one read-only snapshot. Exporting needs read access
// only: no signing key, no migration. Signing happens in storeCheckpoint, in aegis serve alone.
import type { BundleFilter, EvidenceBundle, StoredCheckpoint } from "./chain/bundle.js";
import { buildFilteredBundle, buildFullBundle, LogFold, nextCheckpointOf } from "./chain/bundle.js";
import type { SigningKey } from "./chain/signing.js";
import type { EvidenceStore } from "./store/evidence-store.js";

export const DEFAULT_ORIGIN = "aegis.valina.ai/evidence";

export interface ExportOptions {
  /** A seq number ("1200") or an RFC 3339 time ("2025-01-31T00:00:00Z"). */
  readonly since?: string | undefined;
  readonly subject?: string | undefined;
}

export interface ExportContext {
  readonly store: EvidenceStore;
  /**
   * Given inside aegis serve only (the ledger): a checkpoint over the log as it stands is signed
   * and stored first, so the bundle covers every committed record. The CLI passes none.
   */
  readonly key?: SigningKey | undefined;
  readonly origin: string;
  readonly now: Date;
}

/** Without options: every record (a full bundle). With `since`/`subject`: those records with inclusion proofs. */
export async function exportBundle(context: ExportContext, options: ExportOptions = {}): Promise<EvidenceBundle> {
  const filter = toBundleFilter(options);
  if (context.key !== undefined) await storeCheckpoint(context.store, { ...context, key: context.key });
  if (filter === undefined) {
    const { records, checkpoints } = await context.store.snapshot();
    return buildFullBundle(records, { checkpoints });
  }
  const { hashes, records, checkpoints } = await context.store.snapshot(filter);
  return buildFilteredBundle(hashes, records, filter, { checkpoints });
}

/** Signs and stores a checkpoint when the log grew since the last one (aegis serve only). */
export function storeCheckpoint(
  store: EvidenceStore,
  context: { readonly key: SigningKey; readonly origin: string; readonly now: Date },
): Promise<StoredCheckpoint | undefined> {
  return store.appendCheckpoint(async (scanLog, previous) => {
    const fold = new LogFold(previous?.checkpoint.checkpoint.size);
    await scanLog((hash) => fold.add(hash));
    return nextCheckpointOf(fold, previous, context);
  });
}
export function toBundleFilter(options: ExportOptions): BundleFilter | undefined {
  const since = options.since === undefined ? {} : parseSince(options.since);
  const filter: BundleFilter = { ...since, ...(options.subject === undefined ? {} : { subject: options.subject }) };
  return Object.keys(filter).length === 0 ? undefined : filter;
}

export function parseSince(since: string): Pick<BundleFilter, "sinceSeq" | "sinceTime"> {
  const text = since.trim();
  if (/^\d+$/.test(text)) {
    const sinceSeq = Number(text);
    if (Number.isSafeInteger(sinceSeq)) return { sinceSeq };
  }
  const millis = Date.parse(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(millis)) return { sinceTime: new Date(millis).toISOString() };
  throw new Error(`--since must be a seq number or an RFC 3339 time, got ${JSON.stringify(since)}`);
}
