// Background audit (DESIGN §audit): what already runs, judged by today's policies. Pure: the
// caller gathers the objects, their namespace's labels and whether an approval covers each
// object's current change hash; this file turns them into PolicyReport results and reports.
import { canonicalJson } from "../json/canonical-json.js";
import { evaluate, type CompiledPolicy, type GateRequest } from "../policy/index.js";
import type { AegisException } from "../api/v1alpha1/index.js";
import { exceptionCovers, exceptionKey, waiverFor } from "../exceptions/index.js";
import { API_VERSION } from "../api/v1alpha1/common.js";
import {
  REPORT_API_VERSION,
  REPORT_MANAGED_BY,
  REPORT_MANAGED_BY_LABEL,
  REPORT_SOURCE,
  type ObjectReference,
  type PolicyReport,
  type ReportResult,
  type ReportResultValue,
  type ReportSummary,
} from "../api/wgpolicyk8s/policy-report.js";

/** The rule of the result that says whether an approval covers what runs. */
export { REPORT_MANAGED_BY, REPORT_MANAGED_BY_LABEL } from "../api/wgpolicyk8s/policy-report.js";
export const UNAPPROVED_CHANGE_RULE = "unapproved-change";
/** The name of a namespace's first AEGIS report; more are `aegis-audit-2`, … when one would be too big. */
export const REPORT_NAME = "aegis-audit";
/** Well under etcd's 1.5 MiB request limit, leaving room for metadata and the API server's encoding. */
export const MAX_REPORT_BYTES = 900 * 1024;

export interface AuditedObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly object: Record<string, unknown>;
}

/** One object's check results, and the matching policies that require approval of what runs. */
export interface ObjectAudit {
  readonly findings: readonly AuditFinding[];
  readonly approvalPolicies: readonly string[];
  readonly resource: ObjectReference;
}

export interface AuditFinding {
  readonly policy: string;
  readonly rule: string;
  readonly result: ReportResultValue;
  readonly message: string;
  readonly resource: ObjectReference;
}

/** The gate request an existing object is judged as: its CREATE now, by nobody. */
export function auditRequestOf(object: AuditedObject, namespaceLabels: Readonly<Record<string, string>>): GateRequest {
  return {
    operation: "CREATE",
    kind: object.kind,
    apiVersion: object.apiVersion,
    namespace: object.namespace,
    name: object.name,
    object: object.object,
    oldObject: null,
    // Matching and checks never read the user for an existing object: nobody is asking.
    user: { username: "", groups: [] },
    namespaceLabels,
  };
}

/**
 * The check results for one object: per matching policy, each check that ran passes, or fails
 * (Enforce) or warns (Audit). `withApprovalFindings` adds whether an approval covers it.
 */
export function auditObject(
  policies: readonly CompiledPolicy[],
  object: AuditedObject,
  namespaceLabels: Readonly<Record<string, string>>,
): ObjectAudit {
  const evaluation = evaluate(policies, auditRequestOf(object, namespaceLabels));
  const resource: ObjectReference = {
    apiVersion: object.apiVersion,
    kind: object.kind,
    namespace: object.namespace,
    name: object.name,
    uid: object.uid,
  };
  const findings: AuditFinding[] = [];
  for (const verdict of evaluation.matched) {
    const violated = verdict.enforcement === "Enforce" ? "fail" : "warn";
    for (const check of verdict.checked) {
      const violations = verdict.violations.filter((violation) => violation.check === check);
      findings.push({
        policy: verdict.policy,
        rule: check,
        result: violations.length === 0 ? "pass" : violated,
        message:
          violations.length === 0
            ? "the check passes"
            : violations.map((violation) => `${violation.rule}: ${violation.message}`).join("; "),
        resource,
      });
    }
  }
  const approvalPolicies = evaluation.matched
    .filter((verdict) => verdict.approval !== undefined && verdict.approval.mode !== "Never")
    .map((verdict) => verdict.policy);
  return { findings, approvalPolicies, resource };
}

/**
 * The audit's findings plus, for each policy that requires approval, `unapproved-change`:
 * pass when an approval covers the object's current change hash, else fail.
 */
export function withApprovalFindings(audit: ObjectAudit, approved: boolean): AuditFinding[] {
  return [
    ...audit.findings,
    ...audit.approvalPolicies.map((policy): AuditFinding => ({
      policy,
      rule: UNAPPROVED_CHANGE_RULE,
      result: approved ? "pass" : "fail",
      message: approved
        ? "an approval covers the spec that runs"
        : "no approval covers the spec that runs: it changed behind the gate (webhook bypassed, AEGIS down) or before the policy required approval",
      resource: audit.resource,
    })),
  ];
}

/**
 * Failed and warned results an active AegisException covering the object waives become `skip`,
 * naming the exception, its owner and its expiry; everything else is kept as it is.
 */
export function withExceptionFindings(
  findings: readonly AuditFinding[],
  object: AuditedObject,
  active: readonly Pick<AegisException, "metadata" | "spec">[],
  changeHash: () => string,
): AuditFinding[] {
  const labels = (object.object["metadata"] as { labels?: Record<string, string> } | undefined)?.labels ?? {};
  const subject = { kind: object.kind, namespace: object.namespace, name: object.name, labels, changeHash };
  const covering = active.filter((exception) => exceptionCovers(exception, subject));
  if (covering.length === 0) return [...findings];
  return findings.map((finding) => {
    if (finding.result !== "fail" && finding.result !== "warn") return finding;
    if (finding.rule === UNAPPROVED_CHANGE_RULE) return finding;
    const exception = waiverFor({ policy: finding.policy, check: finding.rule }, covering);
    if (!exception) return finding;
    const who = [exception.spec.owner, exception.spec.ticket].filter(Boolean).join(", ");
    return {
      ...finding,
      result: "skip",
      message: `waived by AegisException ${exceptionKey(exception)} (${who}) until ${exception.spec.expiresAt}: ${finding.message}`,
    };
  });
}

const SEVERITY: Readonly<Record<ReportResultValue, ReportResult["severity"] | undefined>> = {
  fail: "high",
  warn: "medium",
  error: "high",
  pass: undefined,
  skip: undefined,
};

function identityOf(result: Pick<ReportResult, "policy" | "rule" | "result" | "message" | "resources">): string {
  return [result.policy, result.rule, result.resources?.[0]?.uid, result.result, result.message].join("\u0000");
}

/** An upper bound of a result's JSON size, without serialising it (140 000 results per scan are common). */
function estimatedBytes(result: ReportResult): number {
  const resource = result.resources?.[0];
  const text = [result.policy, result.rule, result.message, resource?.kind, resource?.name, resource?.namespace];
  // Field names, quotes, the source, severity, timestamp, apiVersion and uid fit in 320 bytes;
  // the free-text fields may hold non-ASCII (up to 3 bytes per UTF-16 unit).
  return 320 + text.reduce((n, field) => n + (field?.length ?? 0) * 3, 0);
}

/**
 * The namespace's AEGIS reports for these findings, split so none exceeds `maxBytes`.
 * A result that the previous reports held unchanged keeps its timestamp, so an unchanged
 * namespace yields reports equal to the previous ones (and nothing is written).
 *
 * Each object's results go to one report, chosen by a hash of its uid among a power-of-two
 * number of reports: a changed result rewrites its own report only, and growing (or shrinking)
 * the count splits (or merges) reports pairwise. The count is the previous one, doubled while a
 * report would be too big, halved while half as many would be at most half full.
 */
export function buildPolicyReports(
  namespace: string,
  findings: readonly AuditFinding[],
  options: {
    now: Date;
    previous: readonly PolicyReport[];
    maxBytes?: number;
    /** The AegisPolicies whose results the reports hold: when all are deleted, the API server's GC deletes the reports. */
    owners?: readonly { name: string; uid: string }[];
  },
): PolicyReport[] {
  const earlier = new Map<string, ReportResult["timestamp"]>();
  for (const report of options.previous)
    for (const result of report.results ?? []) earlier.set(identityOf(result), result.timestamp);
  const nowStamp = { seconds: Math.floor(options.now.getTime() / 1000), nanos: 0 };
  const objects = new Map<string, ObjectResults>();
  for (const finding of findings) {
    const { resource } = finding;
    const objectKey = resource.uid || `${resource.kind}/${resource.name}`;
    let entry = objects.get(objectKey);
    if (entry === undefined) {
      entry = {
        hash: fnv1a(objectKey),
        sortKey: `${resource.kind}\0${resource.name}`,
        bytes: 0,
        resources: [resource],
        results: [],
      };
      objects.set(objectKey, entry);
    }
    const result = reportResultOf(finding, entry.resources);
    result.timestamp = earlier.size === 0 ? nowStamp : (earlier.get(identityOf(result)) ?? nowStamp);
    entry.bytes += estimatedBytes(result);
    entry.results.push(result);
  }
  const maxBytes = options.maxBytes ?? MAX_REPORT_BYTES;
  const entries = [...objects.values()];
  const count = reportCount(entries, Math.max(1, options.previous.length), maxBytes);
  const buckets: ObjectResults[][] = Array.from({ length: count }, () => []);
  for (const entry of entries) buckets[entry.hash % count]?.push(entry);
  return buckets.flatMap((bucket, index) => {
    if (bucket.length === 0) return [];
    // Objects by kind and name, each one's results by policy and check, in code-unit order:
    // stable across locales, and far cheaper than comparing 10^5 joined strings.
    const chunk = bucket
      .sort((a, b) => compareText(a.sortKey, b.sortKey))
      .flatMap((entry) =>
        entry.results.sort((a, b) => compareText(a.policy, b.policy) || compareText(a.rule ?? "", b.rule ?? "")),
      );
    return [reportOf(namespace, index === 0 ? REPORT_NAME : `${REPORT_NAME}-${index + 1}`, chunk, options.owners)];
  });
}

interface ObjectResults {
  hash: number;
  sortKey: string;
  bytes: number;
  /** One array shared by the object's results: 140 000 results must not mean 140 000 arrays. */
  resources: ReportResult["resources"];
  results: ReportResult[];
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function reportResultOf(finding: AuditFinding, resources: ReportResult["resources"]): ReportResult {
  const severity = SEVERITY[finding.result];
  return {
    source: REPORT_SOURCE,
    policy: finding.policy,
    rule: finding.rule,
    result: finding.result,
    ...(severity ? { severity } : {}),
    scored: true,
    ...(finding.result === "pass" ? {} : { message: finding.message }),
    resources,
  };
}

/** The power of two near `hint` whose buckets all fit `maxBytes` (see buildPolicyReports). */
function reportCount(objects: readonly { hash: number; bytes: number }[], hint: number, maxBytes: number): number {
  const largest = (count: number): number => {
    const sizes = new Array<number>(count).fill(0);
    for (const object of objects) sizes[object.hash % count] = (sizes[object.hash % count] ?? 0) + object.bytes;
    return sizes.reduce((max, size) => Math.max(max, size), 0);
  };
  let count = 2 ** Math.ceil(Math.log2(hint));
  // One object bigger than a report would double forever: at one report per object, stop.
  while (count < 2 * objects.length && largest(count) > maxBytes) count *= 2;
  while (count > 1 && largest(count / 2) <= maxBytes / 2) count /= 2;
  return count;
}

/** 32-bit FNV-1a of a string's UTF-16 code units: a stable spread of uids over reports. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function reportOf(
  namespace: string,
  name: string,
  results: ReportResult[],
  owners: readonly { name: string; uid: string }[] | undefined,
): PolicyReport {
  return {
    apiVersion: REPORT_API_VERSION,
    kind: "PolicyReport",
    metadata: {
      name,
      namespace,
      labels: { [REPORT_MANAGED_BY_LABEL]: REPORT_MANAGED_BY },
      ...(owners?.length
        ? {
            ownerReferences: owners.map((owner) => ({
              apiVersion: API_VERSION,
              kind: "AegisPolicy",
              name: owner.name,
              uid: owner.uid,
            })),
          }
        : {}),
    },
    summary: summarize(results),
    results,
  };
}

export function summarize(results: readonly ReportResult[]): Required<ReportSummary> {
  const summary = { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 };
  for (const result of results) if (result.result) summary[result.result] += 1;
  return summary;
}

/**
 * Whether two reports say the same (metadata other than the name and owners is the writer's
 * business). Results are compared by what identifies them and their timestamp: the builder
 * derives every other field from those, and a report of 900 KiB must not be serialised twice.
 */
export function sameReport(a: PolicyReport, b: PolicyReport): boolean {
  const resultsA = a.results ?? [];
  const resultsB = b.results ?? [];
  return (
    a.metadata.name === b.metadata.name &&
    canonicalJson(a.metadata["ownerReferences"] ?? []) === canonicalJson(b.metadata["ownerReferences"] ?? []) &&
    canonicalJson(a.summary ?? {}) === canonicalJson(b.summary ?? {}) &&
    resultsA.length === resultsB.length &&
    resultsA.every((result, index) => {
      const other = resultsB[index];
      return (
        other !== undefined &&
        identityOf(result) === identityOf(other) &&
        result.source === other.source &&
        result.resources?.[0]?.kind === other.resources?.[0]?.kind &&
        result.resources?.[0]?.name === other.resources?.[0]?.name &&
        result.timestamp?.seconds === other.timestamp?.seconds
      );
    })
  );
}

/** What to write so the namespace holds exactly `next`: creates, replacements, deletions by name. */
export function reportChanges(
  previous: readonly PolicyReport[],
  next: readonly PolicyReport[],
): { upsert: PolicyReport[]; remove: string[] } {
  const byName = new Map(previous.map((report) => [report.metadata.name, report]));
  const upsert = next.filter((report) => {
    const old = byName.get(report.metadata.name);
    return old === undefined || !sameReport(old, report);
  });
  const keep = new Set(next.map((report) => report.metadata.name));
  return { upsert, remove: previous.map((report) => report.metadata.name).filter((name) => !keep.has(name)) };
}
