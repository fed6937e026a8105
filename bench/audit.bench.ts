// Background audit throughput and memory (DESIGN §audit, issue #19's scale goal).
// - objectsPerSec: reconcileAudit of one namespace holding 10 000 Deployments (the payments
//   checkout Deployment as the API server stores it, a third of them non-compliant, half of
//   them covered by an approval), against the 20 bench policies: change hash, policy matching,
//   every check, the approval lookup, and the PolicyReports (split under 900 KiB) it writes to
//   an in-memory store. Baseline: evaluate() alone over the same objects in the same process,
//   so `ratio` says what the audit costs beyond judging.
// - rssGrowthMiB: the process's peak RSS during the scan minus its RSS with the objects loaded.
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

function deployments(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, index) => {
    const object = checkoutDeployment({ image: index % 3 === 0 ? UNTRUSTED_IMAGE : NEW_IMAGE, withStatus: true });
    const metadata = object["metadata"] as Record<string, unknown>;
    return { ...object, metadata: { ...metadata, name: `checkout-${index}`, uid: `uid-${index}` } };
  });
}

export async function benchAudit(
  options: { objects?: number; log?: (line: string) => void } = {},
): Promise<AuditBenchResult> {
  const count = options.objects ?? 10_000;
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

  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  started = performance.now();
  await reconcileAudit(BENCH_NAMESPACE, deps);
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  options.log?.(`audit: ${count} Deployments in ${round(seconds, 2)} s, ${reports.sentReports} reports`);
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
    rescanOneChangedMs: round(rescanMs, 1),
    rescanWrites,
    unchangedWrites: reports.writes - firstWrites - rescanWrites,
  };
}
