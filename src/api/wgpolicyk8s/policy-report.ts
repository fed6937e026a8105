// The Kubernetes Policy working group's report format (wgpolicyk8s.io/v1alpha2), which Kyverno,
// Trivy Operator and Policy Reporter read and write. AEGIS writes namespaced PolicyReports only,
// and tells its own apart by a label and by `source: aegis` on every result.
import { z } from "zod";

export const REPORT_GROUP = "wgpolicyk8s.io";
export const REPORT_VERSION = "v1alpha2";
export const REPORT_API_VERSION = `${REPORT_GROUP}/${REPORT_VERSION}`;
export const REPORT_SOURCE = "aegis";
/** AEGIS's reports carry this label; reports without it belong to another tool and are left alone. */
export const REPORT_MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
export const REPORT_MANAGED_BY = "aegis";

export const REPORT_RESULTS = ["pass", "fail", "warn", "error", "skip"] as const;
export type ReportResultValue = (typeof REPORT_RESULTS)[number];

export const objectReferenceSchema = z.object({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  namespace: z.string().optional(),
  name: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
});
export type ObjectReference = z.infer<typeof objectReferenceSchema>;

export const reportResultSchema = z.object({
  source: z.string().optional(),
  policy: z.string().min(1),
  rule: z.string().optional(),
  category: z.string().optional(),
  severity: z.enum(["critical", "high", "medium", "low", "info"]).optional(),
  timestamp: z.object({ seconds: z.number().int(), nanos: z.number().int() }).optional(),
  result: z.enum(REPORT_RESULTS).optional(),
  scored: z.boolean().optional(),
  message: z.string().optional(),
  resources: z.array(objectReferenceSchema).optional(),
  properties: z.record(z.string(), z.string()).optional(),
});
export type ReportResult = z.infer<typeof reportResultSchema>;

export const reportSummarySchema = z.object({
  pass: z.number().int().min(0).optional(),
  fail: z.number().int().min(0).optional(),
  warn: z.number().int().min(0).optional(),
  error: z.number().int().min(0).optional(),
  skip: z.number().int().min(0).optional(),
});
export type ReportSummary = z.infer<typeof reportSummarySchema>;

/** The top-level fields (PolicyReports have no spec/status). */
export const policyReportBodySchema = z.object({
  scope: objectReferenceSchema.optional(),
  summary: reportSummarySchema.optional(),
  results: z.array(reportResultSchema).optional(),
});

export const policyReportSchema = policyReportBodySchema.extend({
  apiVersion: z.literal(REPORT_API_VERSION),
  kind: z.literal("PolicyReport"),
  metadata: z.looseObject({
    name: z.string(),
    namespace: z.string(),
    labels: z.record(z.string(), z.string()).optional(),
    resourceVersion: z.string().optional(),
  }),
});
export type PolicyReport = z.infer<typeof policyReportSchema>;
