import canonicalize from "canonicalize";
import type { ApprovalRequestSpec, ApprovalSettings, Decision } from "../api/v1alpha1/index.js";
import type { Identity } from "../api/identity.js";
import { computeApprovalState, type ApprovalState, type RequestPolicies } from "./state.js";

/** Channels through which AEGIS itself writes a decision for a user it authenticated. */
const DELEGATED_CHANNELS: ReadonlySet<Decision["via"]> = new Set(["api", "slack", "web"]);

/** Is AEGIS itself writing this decision for a user it authenticated (API, Slack, dashboard)? */
function actsForUser(decision: Decision, update: DecisionUpdate): boolean {
  return update.caller.username === update.aegisUsername && DELEGATED_CHANNELS.has(decision.via);
}

/** How far a decision's `at` may stray from the webhook's clock. */
export const DECISION_CLOCK_SKEW_MS = 5 * 60_000;

export interface DecisionUpdate {
  oldSpec: ApprovalRequestSpec;
  newSpec: ApprovalRequestSpec;
  createdAt: Date;
  /** Identity from the AdmissionReview's userInfo: never from the body. */
  caller: Identity;
  /** AEGIS's own service account username, e.g. system:serviceaccount:aegis-system:aegis-sa. */
  aegisUsername: string;
  policies: RequestPolicies;
  now: Date;
}

/**
 * Is `identity` an allowed approver under one policy's settings? Exported so that the API,
 * Slack and web paths run the very same rule before AEGIS writes a decision for a user.
 */
export function isAllowedApprover(identity: Identity, settings: ApprovalSettings): boolean {
  if (settings.approvers.users.includes(identity.username)) return true;
  const groups = [...settings.approvers.groups, ...(settings.quorum ?? []).map((entry) => entry.group)];
  return identity.groups.some((group) => groups.includes(group));
}

/**
 * Checks one approver against every policy of a request, returning the reasons it may not
 * decide (empty when it may). Shared by the webhook and by AEGIS's own decision paths.
 */
export function approverProblems(
  identity: Identity,
  requester: string,
  policies: RequestPolicies,
  policyNames: readonly string[],
): string[] {
  const problems: string[] = [];
  if (policies.settings.length === 0) {
    problems.push(`no policy among ${policyNames.join(", ")} still asks for approval`);
  }
  policies.settings.forEach((settings, index) => {
    if (!isAllowedApprover(identity, settings)) {
      const allowed = [
        ...settings.approvers.users.map((u) => `user ${u}`),
        ...settings.approvers.groups.map((g) => `group ${g}`),
        ...(settings.quorum ?? []).map((q) => `group ${q.group}`),
      ];
      problems.push(
        `${identity.username} is not an approver of policy ${policyNames[index] ?? "?"} (allowed: ${allowed.join(", ") || "nobody"})`,
      );
    }
    if (identity.username === requester && !settings.allowSelfApproval) {
      problems.push(
        `${identity.username} requested this change and policy ${policyNames[index] ?? "?"} does not allow self-approval`,
      );
    }
  });
  return problems;
}

/**
 * The rules of DESIGN §2 for an UPDATE of an ApprovalRequest: only spec.decisions may change,
 * by appending exactly one entry, made by (or, through AEGIS, for) an allowed approver. Approve
 * and Reject need a Pending request; Revoke withdraws the decider's own standing approval while
 * the request is Pending or Approved. Returns every problem found; empty means allowed.
 */
export function decisionUpdateProblems(update: DecisionUpdate): string[] {
  const { oldSpec, newSpec } = update;
  if (canonicalize(withoutDecisions(oldSpec)) !== canonicalize(withoutDecisions(newSpec))) {
    return ["only spec.decisions may change on an ApprovalRequest"];
  }
  const appended = appendedDecision(oldSpec.decisions, newSpec.decisions);
  if (typeof appended === "string") return [appended];
  if (appended === null) return [];

  const state = computeApprovalState(oldSpec, update.createdAt, update.policies, update.now);
  const phaseProblem = phaseProblemOf(appended, state);
  if (phaseProblem) return [phaseProblem];
  if (appended.decision === "Consume") return consumeProblems(appended, update);

  const problems = [...authorshipProblems(appended, update), ...claimedGroupProblems(appended, update)];
  if (appended.decision === "Revoke") return problems; // withdrawing one's own approval needs no approver rights
  const decider: Identity =
    appended.user === update.caller.username ? update.caller : { username: appended.user, groups: [] };
  if (decider === update.caller || update.caller.username !== update.aegisUsername) {
    problems.push(...approverProblems(decider, oldSpec.requester.username, update.policies, oldSpec.policies));
  } else if (
    appended.user === oldSpec.requester.username &&
    update.policies.settings.some((s) => !s.allowSelfApproval)
  ) {
    // AEGIS checked group membership when it authenticated the user; self-approval it can see here.
    problems.push(`${appended.user} requested this change and may not approve it`);
  }
  if (appended.decision === "Approve" && state.approvers.includes(appended.user)) {
    problems.push(`${appended.user} has already approved; approvals must come from distinct users`);
  }
  return problems;
}

/** Why a request in this state takes no such decision, or undefined when it does. */
export function phaseProblemOf(
  decision: Pick<Decision, "decision" | "user">,
  state: ApprovalState,
): string | undefined {
  if (decision.decision === "Consume") {
    return state.phase === "Approved" ? undefined : `the request is ${state.phase}; only an Approved one can be used`;
  }
  if (decision.decision !== "Revoke") {
    return state.phase === "Pending" || state.phase === "ReviewRequired"
      ? undefined
      : `the request is ${state.phase} and takes no more decisions`;
  }
  if (state.phase !== "Pending" && state.phase !== "Approved" && state.phase !== "ReviewRequired") {
    return `the request is ${state.phase}; there is no approval left to revoke`;
  }
  return state.approvers.includes(decision.user) ? undefined : `${decision.user} has no standing approval to revoke`;
}

/** Only AEGIS's gate uses up an approval, as itself and through the admission it allowed. */
function consumeProblems(decision: Decision, update: DecisionUpdate): string[] {
  const problems: string[] = [];
  if (update.caller.username !== update.aegisUsername || decision.user !== update.aegisUsername) {
    problems.push(
      `only AEGIS (${update.aegisUsername}) records that an approval was used; the caller is ${update.caller.username}`,
    );
  }
  if (decision.via !== "admission") problems.push(`a Consume is recorded via admission, not via ${decision.via}`);
  problems.push(...clockProblems(decision, update));
  return problems;
}

/**
 * A decision's groups fill quorum slots, so they must be groups the API server authenticated
 * the caller in. AEGIS writing for a user it authenticated (TokenReview, OIDC, Slack mapping)
 * vouches for them itself.
 */
function claimedGroupProblems(decision: Decision, update: DecisionUpdate): string[] {
  if (actsForUser(decision, update)) return [];
  const unproven = (decision.groups ?? []).filter((group) => !update.caller.groups.includes(group));
  return unproven.length === 0
    ? []
    : [
        `decision claims group${unproven.length === 1 ? "" : "s"} ${unproven.join(", ")} the caller ${update.caller.username} is not in`,
      ];
}

function withoutDecisions(spec: ApprovalRequestSpec): Omit<ApprovalRequestSpec, "decisions"> {
  const { decisions: _decisions, ...rest } = spec;
  return rest;
}

/** The one appended decision, null when nothing changed, or a string saying what is wrong. */
function appendedDecision(before: readonly Decision[], after: readonly Decision[]): Decision | null | string {
  if (after.length === before.length && canonicalize(before) === canonicalize(after)) return null;
  if (after.length <= before.length && canonicalize(after) !== canonicalize(before.slice(0, after.length))) {
    return "existing entries of spec.decisions may not be changed or removed";
  }
  if (after.length !== before.length + 1) {
    return `spec.decisions may only grow by one entry (had ${before.length}, now ${after.length})`;
  }
  if (canonicalize(after.slice(0, before.length)) !== canonicalize(before)) {
    return "existing entries of spec.decisions may not be changed or removed";
  }
  return after[after.length - 1] ?? "spec.decisions is empty";
}

function authorshipProblems(decision: Decision, update: DecisionUpdate): string[] {
  const problems: string[] = [];
  const actingForUser = actsForUser(decision, update);
  if (decision.user !== update.caller.username && !actingForUser) {
    problems.push(`decision names user ${decision.user} but the caller is ${update.caller.username}`);
  }
  if (!actingForUser && decision.via !== "kubectl") {
    problems.push(`via ${decision.via} is reserved for AEGIS acting for a user it authenticated; use via kubectl`);
  }
  problems.push(...clockProblems(decision, update));
  return problems;
}

function clockProblems(decision: Decision, update: DecisionUpdate): string[] {
  const at = new Date(decision.at).getTime();
  return Number.isNaN(at) || Math.abs(at - update.now.getTime()) > DECISION_CLOCK_SKEW_MS
    ? [`decision time ${decision.at} is more than 5 minutes from the server's clock`]
    : [];
}
