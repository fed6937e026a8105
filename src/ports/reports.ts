import type { PolicyReport } from "../api/wgpolicyk8s/policy-report.js";

/** AEGIS's own PolicyReports (by label); another tool's reports are never read or written. */
export interface PolicyReportStore {
  list(namespace: string): Promise<PolicyReport[]>;
  /** Creates the report, or replaces the one read with `previous`'s resourceVersion (409 on a race). */
  put(report: PolicyReport, previous: PolicyReport | undefined): Promise<void>;
  remove(namespace: string, name: string): Promise<void>;
}

/** Every namespace's AEGIS PolicyReports, for the API and dashboard (read-only). */
export interface PolicyReportReader {
  listAll(): Promise<PolicyReport[]>;
}
