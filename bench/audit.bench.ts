// Background audit throughput and memory (DESIGN §audit, issue #19's scale goal).
// - objectsPerSec: reconcileAudit of one namespace holding 10 000 Deployments (the payments
//   checkout Deployment as the API server stores it, a third of them non-compliant, half of
//   them covered by an approval), against the 20 bench policies: change hash, policy matching,
//   every check, the approval lookup, and the PolicyReports (split under 900 KiB) it writes to
//   an in-memory store. Baseline: evaluate() alone over the same objects in the same process,
//   so `ratio` says what the audit costs beyond judging.
// - rssGrowthMiB: the process's peak RSS during the scan minus its RSS with the objects loaded
//   (after a full GC), in a process of its own (`--expose-gc`) so no other part's heap counts;
//   heapRetainedMiB: what the scan keeps after a full GC (the per-object memo and change hashes),
//   peakHeapGrowthMiB: the V8 heap's peak during the scan over the loaded one.
// - rescanOneChangedMs: the namespace again after one Deployment changed; the other audits are
//   memoised per cached object, so it costs the reports, not 10 000 evaluations.
// - unchangedWrites: a scan with nothing changed writes nothing.
import { auditRequestOf } from "../src/audit/index.js";
import { auditedObjects, reconcileAudit, type AuditDependencies } from "../src/reconcilers/audit.js";
import type { PolicyReport } from "../src/api/wgpolicyk8s/policy-report.js";
import { computeChangeHash } from "../src/changehash/index.js";
import { evaluate } from "../src/policy/index.js";
import type { PolicyReportStore } from "../src/ports/reports.js";
import type { ApprovedChanges } from "../src/selfhealing/index.js";
import { MemoryPolicySource } from "../test/fakes/memory-ports.js";
import {
  BENCH_NAMESPACE,
  benchPolicies,
  checkoutDeployment,
  namespaceLabels,
  NEW_IMAGE,
  UNTRUSTED_IMAGE,
} from "./lib/fixtures.js";
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { round } from "./lib/load.js";

const MiB = 1024 * 1024;

export interface AuditBenchResult {
  objects: number;
  objectsPerSec: number;
  baselineObjectsPerSec: number;
  ratio: number;
  results: number;
  reports: number;
  reportBytes: number;
  rssMiBBefore: number;
  rssGrowthMiB: number;
  heapRetainedMiB: number;
  peakHeapGrowthMiB: number;
  /** The namespace again after one Deployment changed (everything else memoised). */
  rescanOneChangedMs: number;
  rescanWrites: number;
  unchangedWrites: number;
}

/**
 * The API server's side. While the first scan's memory is measured it keeps nothing (what it
 * stores is the API server's memory, not AEGIS's), only the count and size of what it was sent.
 */
class MemoryReports implements PolicyReportStore {
  readonly stored = new Map<string, PolicyReport>();
  writes = 0;
  sentBytes = 0;
  sentReports = 0;
  keep = false;
  list(namespace: string): Promise<PolicyReport[]> {
    return Promise.resolve([...this.stored.values()].filter((r) => r.metadata.namespace === namespace));
  }
  put(report: PolicyReport): Promise<void> {
    this.writes += 1;
    if (!this.keep) {
      // client-node serialises the body once per request, as this does.
      this.sentBytes += Buffer.byteLength(JSON.stringify(report));
      this.sentReports += 1;
      return Promise.resolve();
    }
    // As the API server would hand it back: a copy, with a resourceVersion.
    this.stored.set(report.metadata.name, {
      ...(JSON.parse(JSON.stringify(report)) as PolicyReport),
      metadata: { ...report.metadata, resourceVersion: String(this.writes) },
    });
    return Promise.resolve();
  }
  remove(_namespace: string, name: string): Promise<void> {
    this.writes += 1;
    this.stored.delete(name);
    return Promise.resolve();
  }
}

/** As the informer holds them: each object parsed from its own JSON (no shared substructure). */
function deployments(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, index) => {
    const object = checkoutDeployment({ image: index % 3 === 0 ? UNTRUSTED_IMAGE : NEW_IMAGE, withStatus: true });
    const metadata = object["metadata"] as Record<string, unknown>;
    const text = JSON.stringify({
      ...object,
      metadata: { ...metadata, name: `checkout-${index}`, uid: `uid-${index}` },
    });
    return JSON.parse(text) as Record<string, unknown>;
  });
}

const CHILD_ENV = "AEGIS_BENCH_AUDIT_CHILD";
const CHILD_TIMEOUT_MS = 300_000;

/** The audit bench in a Node.js process of its own (`--expose-gc`): memory figures are its alone. */
export function benchAudit(
  options: { objects?: number; log?: (line: string) => void } = {},
): Promise<AuditBenchResult> {
  const child = fork(fileURLToPath(import.meta.url), [], {
    execArgv: ["--import", "tsx", "--expose-gc"],
    env: { ...process.env, [CHILD_ENV]: String(options.objects ?? 10_000) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return new Promise((resolve, reject) => {
    let result: AuditBenchResult | undefined;
    const timer = setTimeout(() => child.kill("SIGKILL"), CHILD_TIMEOUT_MS);
    child.on("message", (message: unknown) => {
      const { log, result: done } = message as { log?: string; result?: AuditBenchResult };
      if (log !== undefined) options.log?.(log);
      if (done !== undefined) result = done;
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      if (result) resolve(result);
      else reject(new Error(`audit bench process exited with ${signal ?? code} without a result`));
    });
  });
}

if (process.env[CHILD_ENV] !== undefined && process.send) {
  const send = process.send.bind(process);
  const result = await measureAudit(Number(process.env[CHILD_ENV]), (line) => send({ log: line }));
  send({ result }, () => process.exit(0));
}

function fullGc(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("the audit bench needs node --expose-gc (benchAudit starts it so)");
  gc();
  gc();
}

async function measureAudit(count: number, log: (line: string) => void): Promise<AuditBenchResult> {
  const raw = deployments(count);
  const approvedHashes = new Set(raw.filter((_, i) => i % 2 === 0).map((object) => computeChangeHash(object)));
  const approved: ApprovedChanges = {
    approvedAmong: (_target, hashes) => Promise.resolve(new Set(hashes.filter((hash) => approvedHashes.has(hash)))),
  };
  const policies = new MemoryPolicySource(benchPolicies());
  const reports = new MemoryReports();
  const deps: AuditDependencies = {
    workloads: {
      deployment: () => undefined,
      deployments: () => raw,
      otherWorkloads: () => [],
      replicaSets: () => [],
      pods: () => [],
    },
    policies,
    namespaceLabels,
    approved,
    reports,
    now: () => new Date("2026-12-02T10:00:00Z"),
    approvedSeen: new Set(),
    audits: new WeakMap(),
    hashes: new WeakMap(),
  };

  // Baseline: judging alone.
  const objects = auditedObjects(deps.workloads, BENCH_NAMESPACE);
  const compiled = policies.compiled();
  const labels = namespaceLabels(BENCH_NAMESPACE);
  let started = performance.now();
  for (const object of objects) evaluate(compiled, auditRequestOf(object, labels));
  const baselineSeconds = (performance.now() - started) / 1000;

  fullGc();
  const { rss: rssBefore, heapUsed: heapBefore } = process.memoryUsage();
  let peak = rssBefore;
  let peakHeap = heapBefore;
  const sampler = setInterval(() => {
    const usage = process.memoryUsage();
    peak = Math.max(peak, usage.rss);
    peakHeap = Math.max(peakHeap, usage.heapUsed);
  }, 10);
  started = performance.now();
  await reconcileAudit(BENCH_NAMESPACE, deps);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  fullGc();
  const heapRetained = process.memoryUsage().heapUsed - heapBefore;
  log(`audit: ${count} Deployments in ${round(seconds, 2)} s, ${reports.sentReports} reports`);
  // Now the API server holds the reports, as a rescan finds them.
  reports.keep = true;
  deps.approvedSeen.clear();
  deps.audits = new WeakMap();
  deps.hashes = new WeakMap();
  await reconcileAudit(BENCH_NAMESPACE, deps);
  const firstWrites = reports.writes;
  const stored = [...reports.stored.values()];
  // One Deployment changes (the informer hands over a new object): the rescan judges only it.
  raw[1] = { ...raw[1], spec: { ...(raw[1]?.["spec"] as object), replicas: 3, paused: true } };
  started = performance.now();
  await reconcileAudit(BENCH_NAMESPACE, deps);
  const rescanMs = performance.now() - started;
  const rescanWrites = reports.writes - firstWrites;
  await reconcileAudit(BENCH_NAMESPACE, deps);
  const objectsPerSec = count / seconds;
  const baselineObjectsPerSec = count / baselineSeconds;
  return {
    objects: count,
    objectsPerSec: round(objectsPerSec, 0),
    baselineObjectsPerSec: round(baselineObjectsPerSec, 0),
    ratio: round(objectsPerSec / baselineObjectsPerSec, 3),
    results: stored.reduce((n, report) => n + (report.results?.length ?? 0), 0),
    reports: reports.sentReports,
    reportBytes: reports.sentBytes,
    rssMiBBefore: round(rssBefore / MiB, 1),
    rssGrowthMiB: round((peak - rssBefore) / MiB, 1),
    heapRetainedMiB: round(heapRetained / MiB, 1),
    peakHeapGrowthMiB: round((peakHeap - heapBefore) / MiB, 1),
    rescanOneChangedMs: round(rescanMs, 1),
    rescanWrites,
    unchangedWrites: reports.writes - firstWrites - rescanWrites,
  };
}
