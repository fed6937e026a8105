import type { Identity } from "../api/identity.js";
import type { ApprovalView } from "../api/approval-view.js";
import type { ApprovalRequest } from "../api/v1alpha1/index.js";
import type { NotificationMarks } from "../api/notification-marks.js";

/** Where a posted message lives, so that it can be rewritten once the request is decided. */
export interface MessageRef {
  channel: string;
  ts: string;
}

/**
 * A place where people hear of approval requests and answer them (Slack today). The channel
 * renders the message itself; the notifier decides when to post and when to update.
 */
export interface NotificationChannel {
  /** Posts the message for a Pending request to `destination`, as the policy names it (e.g. `#deploys`). */
  postPending(destination: string, view: ApprovalView, dashboardUrl?: string): Promise<MessageRef>;
  /** Rewrites a posted message once the request is decided or expired. */
  updateDecided(ref: MessageRef, view: ApprovalView): Promise<void>;
}

/** Button action ids of the Approve/Reject message, shared by the renderer and the interaction endpoint. */
export const APPROVE_ACTION_ID = "aegis_approve";
export const REJECT_ACTION_ID = "aegis_reject";

/** Which Kubernetes identity a Slack user acts as; null when the user is not mapped. */
export interface SlackIdentityMap {
  resolve(slackUserId: string): Promise<Identity | null>;
}

/** Remembers ids of accepted interactions, so a captured request cannot be played again. */
export interface ReplayGuard {
  /** True the first time `id` is seen within `ttlSeconds`; false for a replay. */
  firstSeen(id: string, ttlSeconds: number): Promise<boolean>;
}

export type CommitState = "pending" | "success" | "failure" | "error";

export interface CommitStatus {
  state: CommitState;
  description: string;
  /** Link to the request's page in the dashboard; GitHub wants an absolute http(s) URL. */
  targetUrl?: string;
}

/** Commit statuses (`POST /repos/{owner}/{repo}/statuses/{sha}`), the one GitHub call the notifier makes. */
export interface CommitStatuses {
  set(repository: string, sha: string, status: CommitStatus): Promise<void>;
}

/** Where the notifier remembers what it sent. */
export interface NotificationMarksWriter {
  save(request: ApprovalRequest, marks: NotificationMarks): Promise<void>;
}
