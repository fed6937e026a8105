// Child process for the controllers benchmark: RSS before and after holding N ApprovalRequests
// the way AEGIS's informer cache does (src/adapters/kube/caches.ts): the list response (read from
// BENCH_APPROVAL_LIST, written by the parent, like a response body arriving) is JSON-parsed into
// raw objects (the informer's own cache, a Map by namespace/name) and each one zod-parsed with
// approvalRequestSchema into ParsedStore's Map. Started with --expose-gc; sends an RssReport
// (figures after a full GC) over IPC and exits.
import { readFileSync } from "node:fs";
import { approvalRequestSchema, type ApprovalRequest } from "../../src/api/v1alpha1/index.js";
import { rawApprovalRequest, syntheticChangeHash } from "../lib/fixtures.js";

export interface RssReport {
  count: number;
  baselineRssBytes: number;
  loadedRssBytes: number;
  baselineHeapBytes: number;
  loadedHeapBytes: number;
  listJsonBytes: number;
  parseMs: number;
}

const NAMESPACES = [
  "payments",
  "orders",
  "search",
  "identity",
  "ledger",
  "catalog",
  "shipping",
  "fraud",
  "notifications",
];

function settle(): { rss: number; heapUsed: number } {
  const collect = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) collect?.();
  const { rss, heapUsed } = process.memoryUsage();
  return { rss, heapUsed };
}

/** The JSON text of a list response of `count` ApprovalRequests in mixed states. */
export function listResponseText(count: number, now: Date): string {
  const parts: string[] = [];
  for (let index = 0; index < count; index++) {
    const createdAt = new Date(now.getTime() - (index % 500) * 60_000);
    const approvers =
      index % 3 === 0 ? ["alice@example.com", "bob@example.com"] : index % 3 === 1 ? ["alice@example.com"] : [];
    const raw = rawApprovalRequest({
      namespace: NAMESPACES[index % NAMESPACES.length] ?? "payments",
      target: `service-${index}`,
      changeHash: syntheticChangeHash(index + 1),
      createdAt,
      approvers,
      index,
    });
    parts.push(JSON.stringify(raw));
  }
  return `{"apiVersion":"aegis.valina.ai/v1alpha1","kind":"ApprovalRequestList","metadata":{"resourceVersion":"60000000"},"items":[${parts.join(",")}]}`;
}

function keyOf(object: { metadata?: { name?: string | undefined; namespace?: string | undefined } }): string {
  return `${object.metadata?.namespace ?? ""}/${object.metadata?.name ?? ""}`;
}

/** Reads and parses the list in its own frame, so nothing but the two Maps outlives it. */
function load(
  listFile: string,
  informerCache: Map<string, Record<string, unknown>>,
  parsedStore: Map<string, ApprovalRequest>,
): { listJsonBytes: number; parseMs: number } {
  const started = performance.now();
  const text = readFileSync(listFile, "utf8");
  const list = JSON.parse(text) as { items: Record<string, unknown>[] };
  for (const raw of list.items) {
    informerCache.set(keyOf(raw), raw);
    const parsed = approvalRequestSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`fixture does not parse: ${parsed.error.message}`);
    parsedStore.set(keyOf(parsed.data), parsed.data);
  }
  return { listJsonBytes: Buffer.byteLength(text), parseMs: performance.now() - started };
}

function main(): void {
  const count = Number(process.env.BENCH_APPROVAL_COUNT ?? 10_000);
  const listFile = process.env.BENCH_APPROVAL_LIST ?? "";
  const baseline = settle();
  const informerCache = new Map<string, Record<string, unknown>>();
  const parsedStore = new Map<string, ApprovalRequest>();
  const { listJsonBytes, parseMs } = load(listFile, informerCache, parsedStore);
  const loaded = settle();
  if (informerCache.size !== count || parsedStore.size !== count)
    throw new Error(`expected ${count} objects, hold ${informerCache.size}/${parsedStore.size}`);
  const report: RssReport = {
    count,
    baselineRssBytes: baseline.rss,
    loadedRssBytes: loaded.rss,
    baselineHeapBytes: baseline.heapUsed,
    loadedHeapBytes: loaded.heapUsed,
    listJsonBytes,
    parseMs,
  };
  process.send?.(report, () => process.exit(0));
}

if (process.env.BENCH_APPROVAL_LIST) main();
