// The background audit (src/audit): per namespace, what `auditedObjects` lists is judged by
// today's policies, and the namespace's AEGIS PolicyReports are made to say exactly that. Level-triggered: reconcile(namespace) reads the
// caches and converges the reports; writes happen only when a result changed.
import { setImmediate as nextTurn } from "node:timers/promises";
import { computeChangeHash } from "../changehash/index.js";
import type { CompiledPolicy } from "../policy/index.js";
import type { PolicySource } from "../ports/kube.js";
import type { PolicyReportStore } from "../ports/reports.js";
import type { RawWorkloadSource } from "../ports/workloads.js";
import type { ApprovedChanges } from "../selfhealing/index.js";
import type { ReconcileResult } from "../runtime/controller.js";
import {
  auditObject,
  buildPolicyReports,
  reportChanges,
  withApprovalFindings,
  withExceptionFindings,
  UNAPPROVED_CHANGE_RULE,
  type AuditedObject,
  type AuditFinding,
  type ObjectAudit,
} from "../audit/index.js";
import type { ReportResultValue } from "../api/wgpolicyk8s/policy-report.js";
import type { AegisException } from "../api/v1alpha1/index.js";

export const AUDIT_CONTROLLER = "Audit";

export interface AuditDependencies {
  workloads: RawWorkloadSource;
  policies: Pick<PolicySource<CompiledPolicy>, "compiled" | "get">;
  namespaceLabels: (namespace: string) => Record<string, string>;
  /** Whether an approval covers a change hash (ApprovalRequests and the ledger's admissions). */
  approved: ApprovedChanges;
  reports: PolicyReportStore;
  now: () => Date;
  /** Change hashes known approved, `kind/namespace/name@hash`: an approval, once given, stays given. */
  approvedSeen: Set<string>;
  /**
   * Each cached object's audit, for the policies and namespace labels it was made with, and its
   * change hash. The informer replaces an object when it changes, so a rescan judges only what changed.
   */
  audits: WeakMap<object, { policies: readonly CompiledPolicy[]; labels: string; audit: ObjectAudit }>;
  hashes: WeakMap<object, string>;
  /** Told each namespace's result counts per policy after a reconcile (metrics). */
  onResults?: (
    namespace: string,
    counts: ReadonlyMap<string, Readonly<Record<ReportResultValue, number>>>,
    unapprovedChanges: number,
  ) => void;
  /** The namespace's AegisExceptions that waive something now (approved, valid, unexpired); absent: none. */
  activeExceptions?: (namespace: string) => readonly AegisException[];
  /** Look again this often even without events (an approval recorded only in the ledger). */
  resyncMs?: number;
}

interface Meta {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    ownerReferences?: { controller?: boolean }[];
  };
}

const DEFAULT_RESYNC_MS = 10 * 60_000;
/** The longest the audit holds the event loop before letting admissions through. */
const SLICE_MS = 10;

function audited(kind: string, apiVersion: string, raw: unknown): AuditedObject | undefined {
  if (typeof raw !== "object" || raw === null) return undefined;
  const { metadata } = raw as Meta;
  if (!metadata?.name || !metadata.namespace) return undefined;
  return {
    apiVersion,
    kind,
    namespace: metadata.namespace,
    name: metadata.name,
    uid: metadata.uid ?? "",
    object: raw as Record<string, unknown>,
  };
}

const unowned = (raw: unknown): boolean =>
  !((raw as Meta).metadata?.ownerReferences ?? []).some((owner) => owner.controller === true);

/**
 * What the audit judges in a namespace: Deployments, StatefulSets, DaemonSets, CronJobs, and
 * Jobs, ReplicaSets and Pods no controller owns (a controller's are judged through it).
 */
export function auditedObjects(workloads: RawWorkloadSource, namespace: string): AuditedObject[] {
  return [
    ...workloads.deployments(namespace).map((raw) => audited("Deployment", "apps/v1", raw)),
    ...workloads
      .otherWorkloads(namespace)
      .filter(({ object }) => unowned(object))
      .map(({ kind, apiVersion, object }) => audited(kind, apiVersion, object)),
    ...workloads
      .replicaSets(namespace)
      .filter(unowned)
      .map((raw) => audited("ReplicaSet", "apps/v1", raw)),
    ...workloads
      .pods(namespace)
      .filter(unowned)
      .map((raw) => audited("Pod", "v1", raw)),
  ].filter((object): object is AuditedObject => object !== undefined);
}

function changeHashOf(object: AuditedObject, deps: AuditDependencies): string {
  let hash = deps.hashes.get(object.object);
  if (hash === undefined) {
    hash = computeChangeHash(object.object);
    deps.hashes.set(object.object, hash);
  }
  return hash;
}

async function isApproved(object: AuditedObject, deps: AuditDependencies): Promise<boolean> {
  const hash = changeHashOf(object, deps);
  const seen = `${object.kind}/${object.namespace}/${object.name}@${hash}`;
  if (deps.approvedSeen.has(seen)) return true;
  const found = await deps.approved.approvedAmong(
    { kind: object.kind, namespace: object.namespace, name: object.name },
    [hash],
  );
  if (!found.has(hash)) return false;
  deps.approvedSeen.add(seen);
  return true;
}

function auditOf(
  object: AuditedObject,
  policies: readonly CompiledPolicy[],
  labels: Record<string, string>,
  labelsKey: string,
  deps: AuditDependencies,
): ObjectAudit {
  const memo = deps.audits.get(object.object);
  if (memo && memo.policies === policies && memo.labels === labelsKey) return memo.audit;
  const audit = auditObject(policies, object, labels);
  deps.audits.set(object.object, { policies, labels: labelsKey, audit });
  return audit;
}

export async function reconcileAudit(namespace: string, deps: AuditDependencies): Promise<ReconcileResult> {
  const policies = deps.policies.compiled();
  const labels = deps.namespaceLabels(namespace);
  const labelsKey = JSON.stringify(labels);
  const findings: AuditFinding[] = [];
  const active = deps.activeExceptions?.(namespace) ?? [];
  let sliceStarted = performance.now();
  for (const object of auditedObjects(deps.workloads, namespace)) {
    // Admissions share this event loop and have a webhook timeout: judge in slices.
    if (performance.now() - sliceStarted > SLICE_MS) {
      await nextTurn();
      sliceStarted = performance.now();
    }
    const audit = auditOf(object, policies, labels, labelsKey, deps);
    const judged =
      audit.approvalPolicies.length > 0 ? withApprovalFindings(audit, await isApproved(object, deps)) : audit.findings;
    findings.push(
      ...(active.length > 0 ? withExceptionFindings(judged, object, active, () => changeHashOf(object, deps)) : judged),
    );
  }
  const previous = await deps.reports.list(namespace);
  const owners = [...new Set(findings.map((finding) => finding.policy))].flatMap((name) => {
    const uid = deps.policies.get(name)?.metadata.uid;
    return uid ? [{ name, uid }] : [];
  });
  const next = buildPolicyReports(namespace, findings, { now: deps.now(), previous, owners });
  const { upsert, remove } = reportChanges(previous, next);
  const byName = new Map(previous.map((report) => [report.metadata.name, report]));
  for (const report of upsert) await deps.reports.put(report, byName.get(report.metadata.name));
  for (const name of remove) await deps.reports.remove(namespace, name);
  const unapproved = new Set(
    findings
      .filter((finding) => finding.rule === UNAPPROVED_CHANGE_RULE && finding.result === "fail")
      .map((finding) => finding.resource.uid),
  );
  deps.onResults?.(namespace, countsByPolicy(findings), unapproved.size);
  return { requeueAfterMs: deps.resyncMs ?? DEFAULT_RESYNC_MS };
}

function countsByPolicy(findings: readonly AuditFinding[]): Map<string, Record<ReportResultValue, number>> {
  const counts = new Map<string, Record<ReportResultValue, number>>();
  for (const finding of findings) {
    const entry = counts.get(finding.policy) ?? { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
    entry[finding.result] += 1;
    counts.set(finding.policy, entry);
  }
  return counts;
}
