// `aegis risk report`: how people decided the changes shadow-mode risk would have auto-approved,
// from the ApprovalRequests in the cluster (the same figures as aegis_risk_shadow_requests).
import { CustomObjectsApi } from "@kubernetes/client-node";
import { z } from "zod";
import { loadKubeConfig } from "../adapters/kube/kube-config.js";
import { kubeErrorMessage } from "../adapters/kube/errors.js";
import { approvalRequestSchema, GROUP, VERSION, type ApprovalRequest } from "../api/v1alpha1/index.js";
import { riskShadowCounts, riskShadowStatus } from "../approval/index.js";

interface Output {
  write(text: string): unknown;
}

export interface RiskReport {
  total: ReturnType<typeof riskShadowStatus>;
  byPolicy: Record<string, ReturnType<typeof riskShadowStatus>>;
  /** ApprovalRequests that did not parse (left out of the figures). */
  unreadable: number;
}

/** The report over these requests: in total and per policy that asked. */
export function riskReportOf(requests: readonly ApprovalRequest[], unreadable = 0): RiskReport {
  const policies = [...new Set(requests.filter((r) => r.spec.risk.shadowAutoApprove).flatMap((r) => r.spec.policies))];
  return {
    total: riskShadowStatus(riskShadowCounts(requests)),
    byPolicy: Object.fromEntries(
      policies
        .sort()
        .map((policy) => [
          policy,
          riskShadowStatus(riskShadowCounts(requests.filter((r) => r.spec.policies.includes(policy)))),
        ]),
    ),
    unreadable,
  };
}

export function formatRiskReport(report: RiskReport): string {
  const precision = (value: number | null): string => (value === null ? "n/a (nothing decided yet)" : value.toFixed(3));
  const lines = [
    "Changes shadow-mode risk would have auto-approved, and how people decided them:",
    `  agreed (approved)          ${report.total.agreed}`,
    `  missed rejections          ${report.total.missedRejections}`,
    `  undecided                  ${report.total.undecided}`,
    `  auto-approve precision     ${precision(report.total.precision)}`,
  ];
  for (const [policy, figures] of Object.entries(report.byPolicy))
    lines.push(
      `  policy ${policy}: ${figures.agreed} agreed, ${figures.missedRejections} missed rejections, ${figures.undecided} undecided, precision ${precision(figures.precision)}`,
    );
  if (report.total.agreed + report.total.missedRejections + report.total.undecided === 0)
    lines.push("No such change yet: RiskBased policies in shadow mode (spec.risk.shadow, the default) record them.");
  if (report.unreadable > 0) lines.push(`${report.unreadable} ApprovalRequest(s) could not be read and are left out.`);
  return `${lines.join("\n")}\n`;
}

const listSchema = z.object({ items: z.array(z.unknown()) });

export async function riskReportCommand(
  options: { kubeconfig?: string | undefined; output: "text" | "json" },
  stdout: Output,
): Promise<void> {
  const api = loadKubeConfig({ kubeconfig: options.kubeconfig }).makeApiClient(CustomObjectsApi);
  const body = listSchema.parse(
    await api
      .listClusterCustomObject({ group: GROUP, version: VERSION, plural: "approvalrequests" })
      .catch((error: unknown) => {
        throw new Error(
          `listing ApprovalRequests: ${kubeErrorMessage(error)} (the report needs list on approvalrequests.${GROUP} in every namespace)`,
          { cause: error },
        );
      }),
  );
  const parsed = body.items.map((item) => approvalRequestSchema.safeParse(item));
  const requests = parsed.flatMap((result) => (result.success ? [result.data] : []));
  const report = riskReportOf(requests, parsed.length - requests.length);
  stdout.write(options.output === "json" ? `${JSON.stringify(report, null, 2)}\n` : formatRiskReport(report));
}
