import type { AegisPolicy, ApprovalSettings } from "../api/v1alpha1/index.js";
import type { RequestPolicies } from "./state.js";

/** Where approval rules look policies up by name: the policy cache, or a fixed set in tests. */
export interface PolicyLookup {
  get(name: string): Pick<AegisPolicy, "spec"> | undefined;
}

/** Approval settings of the named policies that exist and ask for approval. */
export function approvalSettingsOf(policies: PolicyLookup, names: readonly string[]): ApprovalSettings[] {
  return names.flatMap((name) => {
    const approval = policies.get(name)?.spec.approval;
    return approval && approval.mode !== "Never" ? [approval] : [];
  });
}

/** The kind of target whose ApprovalRequests decide AegisExceptions rather than changes. */
export const EXCEPTION_TARGET_KIND = "AegisException";

/**
 * The approval rules a request is judged by: its policies' settings plus any lockdown surcharge.
 * A request deciding an AegisException (`targetKind`) is judged by each waived policy's
 * approvers, quorum and minApprovals whatever its mode (a policy that never asks for approval
 * of changes still names who may waive its checks), and its approval is never used up.
 */
export function requestPoliciesOf(
  policies: PolicyLookup,
  names: readonly string[],
  extraApprovals: number,
  targetKind?: string,
): RequestPolicies {
  if (targetKind !== EXCEPTION_TARGET_KIND) return { settings: approvalSettingsOf(policies, names), extraApprovals };
  const settings = names.flatMap((name) => {
    const approval = policies.get(name)?.spec.approval;
    return approval ? [{ ...approval, singleUse: false }] : [];
  });
  return { settings, extraApprovals };
}

/** Where a RiskBased policy puts a risk score: no human, approvers decide, or nobody may admit it. */
export type RiskBand = "auto" | "human" | "blocked";

/**
 * Below `autoApproveBelow` (or its earlier name `riskThreshold`) a change needs no human; above
 * `blockAbove` no approval admits it; in between, approvers decide.
 */
export function riskBandOf(
  approval: Pick<ApprovalSettings, "autoApproveBelow" | "riskThreshold" | "blockAbove">,
  score: number,
): RiskBand {
  if (approval.blockAbove !== undefined && score > approval.blockAbove) return "blocked";
  return score < (approval.autoApproveBelow ?? approval.riskThreshold ?? 0) ? "auto" : "human";
}
