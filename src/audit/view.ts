// What the API and dashboard show of the audit: per namespace, the summary of AEGIS's
// PolicyReports and the results that need attention (fail, error, warn), worst first.
import { REPORT_SOURCE, type PolicyReport, type ReportResultValue } from "../api/wgpolicyk8s/policy-report.js";

export interface AuditFindingView {
  kind: string;
  name: string;
  policy: string;
  rule: string;
  result: ReportResultValue;
  severity: string | null;
  message: string;
  /** When the result was first reported as it is (RFC 3339). */
  since: string | null;
}

export interface NamespaceAuditView {
  namespace: string;
  summary: Record<ReportResultValue, number>;
  /** The PolicyReports the namespace's results are spread over. */
  reports: number;
  findings: AuditFindingView[];
  /** Findings left out after `limit`. */
  truncated: number;
}

const ATTENTION: Readonly<Partial<Record<ReportResultValue, number>>> = { fail: 0, error: 1, warn: 2 };

/** Per namespace (most failures first), AEGIS's results from these reports; another tool's are ignored. */
export function auditViews(reports: readonly PolicyReport[], limit = 200): NamespaceAuditView[] {
  const byNamespace = new Map<string, NamespaceAuditView>();
  for (const report of reports) {
    const namespace = report.metadata.namespace;
    let view = byNamespace.get(namespace);
    if (view === undefined) {
      view = {
        namespace,
        summary: { pass: 0, fail: 0, warn: 0, error: 0, skip: 0 },
        reports: 0,
        findings: [],
        truncated: 0,
      };
      byNamespace.set(namespace, view);
    }
    view.reports += 1;
    for (const result of report.results ?? []) {
      if (result.source !== REPORT_SOURCE || result.result === undefined) continue;
      view.summary[result.result] += 1;
      if (ATTENTION[result.result] === undefined) continue;
      const resource = result.resources?.[0];
      view.findings.push({
        kind: resource?.kind ?? "",
        name: resource?.name ?? "",
        policy: result.policy,
        rule: result.rule ?? "",
        result: result.result,
        severity: result.severity ?? null,
        message: result.message ?? "",
        since: result.timestamp ? new Date(result.timestamp.seconds * 1000).toISOString() : null,
      });
    }
  }
  return [...byNamespace.values()]
    .map((view) => {
      const findings = view.findings.sort(
        (a, b) =>
          (ATTENTION[a.result] ?? 9) - (ATTENTION[b.result] ?? 9) ||
          compare(a.kind, b.kind) ||
          compare(a.name, b.name) ||
          compare(a.policy, b.policy) ||
          compare(a.rule, b.rule),
      );
      return { ...view, findings: findings.slice(0, limit), truncated: Math.max(0, findings.length - limit) };
    })
    .sort((a, b) => b.summary.fail - a.summary.fail || compare(a.namespace, b.namespace));
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
