import { createHash } from "node:crypto";
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

/** The ConfigMap, in AEGIS's namespace, that maps Slack user ids to Kubernetes usernames. */
export const SLACK_USERS_CONFIGMAP = "aegis-slack-users";

/**
 * One entry of `aegis-slack-users` (`U123: alice`), read: the Kubernetes username it maps to, or
 * why it maps nobody. The map names a **username only**: groups come from Kubernetes, and there is
 * no API to look a user's groups up, so an entry that lists them (`alice;sre-leads`, the old
 * format) is refused rather than read as `alice` with or without them.
 */
export type SlackUserEntry = { readonly username: string } | { readonly refused: string };

// C0 and C1 control characters, DEL: a username never holds them; a line break is a paste error.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

export function parseSlackUserEntry(value: string): SlackUserEntry {
  const username = value.trim();
  if (!username) return { refused: "the entry is empty" };
  if (username.includes(";")) {
    const user = username.split(";")[0]?.trim() ?? "";
    return {
      refused: `the entry ${JSON.stringify(value)} has a ";groups" part: the map names a Kubernetes username only (write ${JSON.stringify(user || "alice")}); groups come from Kubernetes, never from this ConfigMap`,
    };
  }
  if (CONTROL_CHARACTERS.test(username))
    return { refused: `the entry ${JSON.stringify(value)} contains control characters` };
  return { username };
}

function sha256(text: string): string {
  return `sha256:${createHash("sha256").update(text, "utf8").digest("hex")}`;
}

/** `sha256:` + hex SHA-256 of the UTF-8 JSON `["<slack user id>","<value as stored>"]`. */
export function slackEntryHash(slackUserId: string, value: string): string {
  return sha256(JSON.stringify([slackUserId, value]));
}

/** `sha256:` + hex SHA-256 of the UTF-8 JSON of the entries as `[[id, value], …]`, sorted by id. */
export function slackMappingHash(data: Readonly<Record<string, string>>): string {
  const entries = Object.entries(data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return sha256(JSON.stringify(entries));
}

/** What changed between two versions of the map's `data`. */
export interface SlackMappingDiff {
  added: Record<string, string>;
  removed: Record<string, string>;
  changed: Record<string, { from: string; to: string }>;
}

export function diffSlackMappings(
  before: Readonly<Record<string, string>>,
  after: Readonly<Record<string, string>>,
): SlackMappingDiff {
  const diff: SlackMappingDiff = { added: {}, removed: {}, changed: {} };
  for (const [id, value] of Object.entries(after)) {
    const old = Object.hasOwn(before, id) ? before[id] : undefined;
    if (old === undefined) diff.added[id] = value;
    else if (old !== value) diff.changed[id] = { from: old, to: value };
  }
  for (const [id, value] of Object.entries(before)) if (!Object.hasOwn(after, id)) diff.removed[id] = value;
  return diff;
}

/** Which version of the map a Slack user was resolved with, as the decision's evidence names it. */
export interface SlackMappingVersion {
  /** `namespace/name` of the ConfigMap (`static` for a map configured in code). */
  configMap: string;
  uid: string;
  resourceVersion: string;
  /** {@link slackMappingHash} of the whole map. */
  mappingHash: string;
}

/**
 * What the map says of a Slack user: a username (never groups), an entry that maps nobody and
 * why, or no entry. `entryHash` ({@link slackEntryHash}) pins the entry used.
 */
export type SlackIdentityResolution =
  | { status: "mapped"; username: string; entryHash: string; mapping: SlackMappingVersion }
  | { status: "refused"; problem: string; entryHash: string; mapping: SlackMappingVersion }
  | { status: "unmapped"; mapping?: SlackMappingVersion };

/** Which Kubernetes username a Slack user acts as, and from which version of the map. */
export interface SlackIdentityMap {
  resolve(slackUserId: string): Promise<SlackIdentityResolution>;
}

/**
 * May `writer` map a Slack user to `username`? A mapping lets the Slack user act as `username`,
 * so it takes what acting as `username` takes in Kubernetes: permission to impersonate it
 * (SubjectAccessReview, verb `impersonate` on `users`, or on `serviceaccounts` for a service
 * account's username, as the API server checks `kubectl --as`).
 */
export interface SlackMappingReviewer {
  mayActAs(writer: Identity, username: string): Promise<boolean>;
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
