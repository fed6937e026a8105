import type { ApprovalRequest } from "./v1alpha1/index.js";

/** What the API and dashboard show for one request: the stored object plus its derived state. */
export interface ApprovalView {
  namespace: string;
  name: string;
  phase: string;
  approvals: number;
  requiredApprovals: number;
  expiresAt: string;
  decidedAt: string | null;
  createdAt: string;
  /** Users whose approval stands (given and not revoked), in order. */
  approvers: string[];
  /** Each quorum group with the approvers counted for it. */
  quorum: { group: string; min: number; counted: string[] }[];
  /** What approval still lacks ("1 more from security"); empty once decided. */
  missing: string[];
  /** Set when break-glass admitted the change: who, why, and the review deadline. */
  breakGlass: ApprovalRequest["spec"]["breakGlass"] | null;
  reviewDueAt: string | null;
  reviewOverdue: boolean;
  target: ApprovalRequest["spec"]["target"];
  changeHash: string;
  summary: string;
  reason: string;
  policies: string[];
  requester: ApprovalRequest["spec"]["requester"];
  risk: ApprovalRequest["spec"]["risk"];
  decisions: ApprovalRequest["spec"]["decisions"];
}

/** The link to a request's page in the dashboard, when AEGIS knows its public URL. */
export function requestPageUrl(
  dashboardUrl: string | undefined,
  view: Pick<ApprovalView, "namespace" | "name">,
): string | undefined {
  if (!dashboardUrl) return undefined;
  return `${dashboardUrl.replace(/\/+$/, "")}/#/approvals/${encodeURIComponent(view.namespace)}/${encodeURIComponent(view.name)}`;
}
