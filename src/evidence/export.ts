// Builds bundles from the database: the records asked for, and a checkpoint over the whole log
// as it stands in the snapshot they were read from.
import type { BundleFilter, EvidenceBundle } from "./chain/bundle.js";
import { buildFilteredBundle, buildFullBundle } from "./chain/bundle.js";
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
  readonly key: SigningKey;
  readonly origin: string;
  readonly now: Date;
}

/** Without options: every record (a full bundle). With `since`/`subject`: those records with inclusion proofs. */
export async function exportBundle(context: ExportContext, options: ExportOptions = {}): Promise<EvidenceBundle> {
  const filter = toBundleFilter(options);
  const build = { key: context.key, origin: context.origin, now: context.now };
  if (filter === undefined) {
    const { records } = await context.store.snapshot();
    return buildFullBundle(records, build);
  }
  const { hashes, records } = await context.store.snapshot(filter);
  return buildFilteredBundle(hashes, records, filter, build);
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
