// Controller throughput and cache memory.
// - reconcilesPerSec: 1 000 ApprovalRequests (new Pending ones, Approved, Rejected, Expired, long
//   decided ones due for deletion, some already up to date) converged by the real Controller
//   (2 workers, as in src/controllers/start.ts) running reconcileApprovalRequest over an
//   in-memory store, with fake actions that record patches/events/deletes and an in-memory
//   evidence recorder. Baseline: the same keys through the same Controller with a no-op reconcile.
//   Rounds alternate baseline and real; each round starts from a fresh copy of the store.
// - rssMiBWith10kRequests: RSS of a child process holding 10 000 ApprovalRequests as the informer
//   cache does (raw objects + zod-parsed objects, in Maps), beside the same child's RSS before.
import { fork } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { approvalRequestSchema, type ApprovalRequest, type ApprovalRequestStatus } from "../src/api/v1alpha1/index.js";
import { reconcileApprovalRequest } from "../src/reconcilers/approval-request.js";
import type { ApprovalRequestActions } from "../src/ports/status.js";
import { Controller, type ReconcileFn } from "../src/runtime/controller.js";
import { AEGIS_USERNAME, benchPolicies, rawApprovalRequest, syntheticChangeHash } from "./lib/fixtures.js";
import { round } from "./lib/load.js";
import { listResponseText, type RssReport } from "./servers/approvals-rss.js";
import { keyOf, MemoryEvidence, MemoryObjectStore, MemoryPolicySource } from "../test/fakes/memory-ports.js";

const RSS_SCRIPT = fileURLToPath(new URL("./servers/approvals-rss.ts", import.meta.url));
const RETENTION_MS = 7 * 24 * 3_600_000; // DECIDED_REQUEST_RETENTION_MS in src/controllers/start.ts
const NAMESPACES = ["payments", "orders", "search", "identity", "ledger", "catalog", "shipping", "fraud"];
const MiB = 1024 * 1024;

export interface ControllersBenchOptions {
  requests?: number;
  rounds?: number;
  workers?: number;
  cacheObjects?: number;
  log?: (line: string) => void;
}

export interface ControllersBenchResult {
  reconcilesPerSec: number;
  baselineReconcilesPerSec: number;
  ratio: number;
  requests: number;
  rounds: number;
  workers: number;
  /** Writes the reconciler made per round (status patches, events, deletes, evidence records). */
  perRound: { patches: number; events: number; deletes: number; evidence: number };
  rssMiBWith10kRequests: number;
  baselineRssMiB: number;
  rssGrowthMiB: number;
  heapMiBWith10kRequests: number;
  baselineHeapMiB: number;
  cacheObjects: number;
  cacheLayout: string;
}

class RecordingActions implements ApprovalRequestActions {
  readonly patches: { key: string; status: ApprovalRequestStatus }[] = [];
  events = 0;
  deletes = 0;

  patchStatus(request: ApprovalRequest, status: ApprovalRequestStatus): Promise<void> {
    this.patches.push({ key: keyOf(request), status });
    return Promise.resolve();
  }

  emitEvent(): Promise<void> {
    this.events += 1;
    return Promise.resolve();
  }

  delete(): Promise<void> {
    this.deletes += 1;
    return Promise.resolve();
  }
}

const HOUR = 3_600_000;

/** Raw requests in the states a controller meets after a restart or a resync. */
function rawRequests(count: number, now: Date): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, index) => {
    const base = {
      namespace: NAMESPACES[index % NAMESPACES.length] ?? "payments",
      target: `service-${index}`,
      changeHash: syntheticChangeHash(index + 1),
      index,
    };
    switch (index % 10) {
      case 0:
      case 1:
      case 2:
        return rawApprovalRequest({
          ...base,
          createdAt: new Date(now.getTime() - 10 * 60_000),
          approvers: [],
          withStatus: false,
        });
      case 3:
        return rawApprovalRequest({
          ...base,
          createdAt: new Date(now.getTime() - 20 * 60_000),
          approvers: ["alice@example.com"],
          withStatus: false,
        });
      case 4:
      case 5:
        return rawApprovalRequest({
          ...base,
          createdAt: new Date(now.getTime() - HOUR),
          approvers: ["alice@example.com", "bob@example.com"],
          withStatus: false,
        });
      case 6:
        return rawApprovalRequest({
          ...base,
          createdAt: new Date(now.getTime() - HOUR),
          approvers: [],
          rejectedBy: "carol@example.com",
          withStatus: false,
        });
      case 7:
        return rawApprovalRequest({ ...base, createdAt: new Date(now.getTime() - 30 * HOUR), approvers: [] });
      case 8:
        return rawApprovalRequest({
          ...base,
          createdAt: new Date(now.getTime() - 9 * 24 * HOUR),
          approvers: ["alice@example.com", "bob@example.com"],
        });
      default:
        return rawApprovalRequest({
          ...base,
          createdAt: new Date(now.getTime() - 2 * HOUR),
          approvers: ["alice@example.com", "bob@example.com"],
        });
    }
  });
}

/** Runs every key once through a fresh Controller; returns seconds from start to the last reconcile. */
async function runRound(keys: readonly string[], workers: number, reconcile: ReconcileFn): Promise<number> {
  let done = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const controller = new Controller({
    name: "bench",
    workers,
    reconcile: async (key, signal) => {
      const result = await reconcile(key, signal);
      done += 1;
      if (done === keys.length) finish();
      return result;
    },
  });
  for (const key of keys) controller.enqueue(key);
  const started = performance.now();
  controller.start();
  await finished;
  const seconds = (performance.now() - started) / 1000;
  await controller.stop();
  if (controller.errors > 0) throw new Error(`controllers bench: ${controller.errors} reconciles failed`);
  return seconds;
}

async function measureReconciles(
  settings: Required<Omit<ControllersBenchOptions, "cacheObjects" | "log">>,
): Promise<Pick<ControllersBenchResult, "reconcilesPerSec" | "baselineReconcilesPerSec" | "perRound">> {
  const now = new Date();
  const raw = rawRequests(settings.requests, now);
  const policies = new MemoryPolicySource(benchPolicies());
  const keys = raw.map((object) => keyOf(approvalRequestSchema.parse(object)));
  let realSeconds = 0;
  let baselineSeconds = 0;
  let perRound = { patches: 0, events: 0, deletes: 0, evidence: 0 };
  for (let roundIndex = 0; roundIndex <= settings.rounds; roundIndex++) {
    const store = new MemoryObjectStore(raw.map((object) => approvalRequestSchema.parse(object)));
    const actions = new RecordingActions();
    const evidence = new MemoryEvidence({ keep: 1000 });
    const deps = {
      approvals: store,
      policies,
      actions,
      evidence,
      now: () => new Date(),
      extraApprovals: () => 0,
      retentionMs: RETENTION_MS,
      actor: AEGIS_USERNAME,
    };
    const baseline = await runRound(keys, settings.workers, () => Promise.resolve({}));
    const real = await runRound(keys, settings.workers, (key) => reconcileApprovalRequest(key, deps));
    if (roundIndex === 0) continue; // warm-up
    baselineSeconds += baseline;
    realSeconds += real;
    perRound = {
      patches: actions.patches.length,
      events: actions.events,
      deletes: actions.deletes,
      evidence: evidence.recorded,
    };
  }
  const total = settings.requests * settings.rounds;
  return {
    reconcilesPerSec: Math.round(total / realSeconds),
    baselineReconcilesPerSec: Math.round(total / baselineSeconds),
    perRound,
  };
}

async function measureCacheRss(count: number): Promise<RssReport> {
  const dir = await mkdtemp(join(tmpdir(), "aegis-bench-approvals-"));
  try {
    const file = join(dir, "approvalrequests.json");
    await writeFile(file, listResponseText(count, new Date()));
    return await runRssChild(count, file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function runRssChild(count: number, listFile: string): Promise<RssReport> {
  const child = fork(RSS_SCRIPT, [], {
    execArgv: ["--import", "tsx", "--expose-gc"],
    env: { ...process.env, BENCH_APPROVAL_COUNT: String(count), BENCH_APPROVAL_LIST: listFile },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    let report: RssReport | undefined;
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("message", (message: unknown) => {
      report = message as RssReport;
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      if (report) resolve(report);
      else reject(new Error(`approvals RSS child exited with ${code} without a report`));
    });
  });
}

export async function benchControllers(options: ControllersBenchOptions = {}): Promise<ControllersBenchResult> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const settings = { requests: options.requests ?? 1_000, rounds: options.rounds ?? 30, workers: options.workers ?? 2 };
  const reconciles = await measureReconciles(settings);
  log(
    `controllers: ${reconciles.reconcilesPerSec} reconciles/s (no-op baseline ${reconciles.baselineReconcilesPerSec}/s), per round ${JSON.stringify(reconciles.perRound)}`,
  );
  const cacheObjects = options.cacheObjects ?? 10_000;
  const rss = await measureCacheRss(cacheObjects);
  log(
    `controllers: cache of ${rss.count} ApprovalRequests (${round(rss.listJsonBytes / MiB, 1)} MiB of list JSON, parsed in ${round(rss.parseMs, 0)} ms): RSS ${round(rss.loadedRssBytes / MiB, 1)} MiB, before ${round(rss.baselineRssBytes / MiB, 1)} MiB`,
  );
  return {
    ...reconciles,
    ratio: round(reconciles.reconcilesPerSec / reconciles.baselineReconcilesPerSec, 3),
    requests: settings.requests,
    rounds: settings.rounds,
    workers: settings.workers,
    rssMiBWith10kRequests: round(rss.loadedRssBytes / MiB, 1),
    baselineRssMiB: round(rss.baselineRssBytes / MiB, 1),
    rssGrowthMiB: round((rss.loadedRssBytes - rss.baselineRssBytes) / MiB, 1),
    heapMiBWith10kRequests: round(rss.loadedHeapBytes / MiB, 1),
    baselineHeapMiB: round(rss.baselineHeapBytes / MiB, 1),
    cacheObjects: rss.count,
    cacheLayout:
      "raw objects (informer cache) + approvalRequestSchema-parsed objects (ParsedStore), each in a Map by namespace/name; RSS after a full GC",
  };
}
