import { requestPageUrl, type ApprovalView } from "../api/approval-view.js";
import { gitReferenceOf } from "../api/git-reference.js";
import { mergeMarks, readMarks, type NotificationMarks } from "../api/notification-marks.js";
import type { ApprovalRequest } from "../api/v1alpha1/index.js";
import { viewOf, type PolicyLookup } from "../approval/index.js";
import type { EventBus } from "../ports/bus.js";
import type { ObjectStore } from "../ports/kube.js";
import type { CommitState, CommitStatuses, NotificationChannel, NotificationMarksWriter } from "../ports/notify.js";
import { Controller } from "../runtime/controller.js";
import type { Logger } from "../ports/logger.js";

export interface NotifierDependencies {
  approvals: ObjectStore<ApprovalRequest>;
  policies: PolicyLookup;
  slack?: NotificationChannel;
  github?: CommitStatuses;
  marks: NotificationMarksWriter;
  /** Only the leader notifies (main.ts: `() => controllers.elector.isLeader()`). */
  isLeader: () => boolean;
  /** Hints ("approval" topic) that make the notifier look at a request at once. */
  bus?: EventBus;
  /** The dashboard's public URL, for links in Slack and GitHub's target_url. */
  dashboardUrl?: string;
  extraApprovals: () => number;
  now: () => Date;
  logger: Logger;
  /** Every request is looked at again this often while leading. Default 60 s. */
  resyncMs?: number;
  /** How often leadership is checked (a new leader looks at every request). Default 2 s. */
  leaderPollMs?: number;
}

export interface Notifier {
  /** Look at `namespace/name` soon; cheap when nothing is due (no network call). */
  enqueue(key: string): void;
  start(): void;
  stop(): Promise<void>;
}

const COMMIT_STATE: Record<string, CommitState> = {
  Pending: "pending",
  Approved: "success",
  Rejected: "failure",
  Expired: "failure",
  Used: "success",
};

/**
 * Tells Slack and GitHub about ApprovalRequests, outside the webhook's hot path: a Pending
 * request gets a Slack message with Approve/Reject buttons and a pending commit status; once
 * decided the message is updated in place and the status turns success or failure. What was
 * sent is remembered in the `aegis.valina.ai/notifications` annotation (see marks.ts), so a
 * request is notified once per phase across restarts and replicas; only the leader sends.
 * A crash between a send and its mark can repeat that one send (at least once).
 */
export function createNotifier(deps: NotifierDependencies): Notifier {
  const written = new Map<string, NotificationMarks>();
  const controller = new Controller({
    name: "notifier",
    workers: 2,
    logger: deps.logger,
    reconcile: (key) => notifyOne(key, deps, written),
  });
  let wasLeader = false;
  let lastResync = 0;
  let timer: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  const enqueueAll = (): void => deps.approvals.list().forEach((request) => controller.enqueue(keyOf(request)));
  const tick = (): void => {
    const leading = deps.isLeader();
    const now = Date.now();
    if (leading && (!wasLeader || now - lastResync >= (deps.resyncMs ?? 60_000))) {
      lastResync = now;
      enqueueAll();
    }
    if (!leading) written.clear();
    wasLeader = leading;
  };
  return {
    enqueue: (key) => {
      if (deps.isLeader()) controller.enqueue(key);
    },
    start: () => {
      controller.start();
      unsubscribe = deps.bus?.subscribe((message) => {
        if (message.topic === "approval" && deps.isLeader()) controller.enqueue(message.key);
      });
      tick();
      timer = setInterval(tick, deps.leaderPollMs ?? 2_000);
      timer.unref();
    },
    stop: async () => {
      if (timer) clearInterval(timer);
      unsubscribe?.();
      await controller.stop();
    },
  };
}

function keyOf(request: ApprovalRequest): string {
  return `${request.metadata.namespace ?? ""}/${request.metadata.name ?? ""}`;
}

async function notifyOne(
  key: string,
  deps: NotifierDependencies,
  written: Map<string, NotificationMarks>,
): Promise<{ requeueAfterMs?: number }> {
  if (!deps.isLeader()) return {};
  const [namespace = "", name = ""] = key.split("/");
  const request = deps.approvals.get(name, namespace);
  if (!request) return {};
  const id = request.metadata.uid ?? key;
  const view = viewOf(request, deps);
  let marks = mergeMarks(readMarks(request.metadata.annotations), written.get(id) ?? { slack: {} });
  const save = async (next: NotificationMarks): Promise<void> => {
    marks = next;
    written.set(id, next);
    await deps.marks.save(request, next);
  };
  if (deps.slack) await notifySlack(deps.slack, { view, request, marks, save, deps });
  if (deps.github) await notifyGitHub(deps.github, { view, request, marks, save, deps });
  if (view.phase !== "Pending") return {};
  return { requeueAfterMs: Math.max(100, new Date(view.expiresAt).getTime() - deps.now().getTime() + 100) };
}

/** Distinct Slack channels named by the request's policies. */
function slackChannels(request: ApprovalRequest, deps: Pick<NotifierDependencies, "policies">): string[] {
  const channels = request.spec.policies.flatMap(
    (name) => deps.policies.get(name)?.spec.notifications?.slack?.channel ?? [],
  );
  return [...new Set(channels)];
}

/** One request's notification step: what it is now, what was sent, how to remember a send. */
interface Step {
  view: ApprovalView;
  request: ApprovalRequest;
  marks: NotificationMarks;
  save: (next: NotificationMarks) => Promise<void>;
  deps: NotifierDependencies;
}

async function notifySlack(slack: NotificationChannel, step: Step): Promise<void> {
  const { view, request, save, deps } = step;
  let marks = step.marks;
  for (const channel of slackChannels(request, deps)) {
    const entry = marks.slack[channel];
    // A revoked approval takes a request back to Pending: approvers get a fresh message to act on.
    const waiting = view.phase === "Pending" || view.phase === "ReviewRequired";
    if (waiting && (!entry || entry.phase !== view.phase)) {
      const ref = await slack.postPending(channel, view, deps.dashboardUrl);
      marks = { ...marks, slack: { ...marks.slack, [channel]: { ...ref, phase: "Pending" } } };
      await save(marks);
      deps.logger.info({ request: keyOf(request), channel }, "Slack: approval message posted");
    } else if (!waiting && entry && entry.phase !== view.phase) {
      await slack.updateDecided({ channel: entry.channel, ts: entry.ts }, view);
      marks = { ...marks, slack: { ...marks.slack, [channel]: { ...entry, phase: view.phase } } };
      await save(marks);
      deps.logger.info({ request: keyOf(request), channel, phase: view.phase }, "Slack: approval message updated");
    }
  }
}

function defaultRepository(request: ApprovalRequest, deps: Pick<NotifierDependencies, "policies">): string | undefined {
  for (const name of request.spec.policies) {
    const repository = deps.policies.get(name)?.spec.notifications?.github?.repository;
    if (repository) return repository;
  }
  return undefined;
}

export function commitDescription(view: ApprovalView): string {
  const deciders = [...new Set(view.decisions.map((decision) => decision.user))].join(", ");
  switch (view.phase) {
    case "Used":
    case "Approved":
      return `Approved by ${view.approvers.join(", ") || deciders}`;
    case "Rejected":
      return `Rejected by ${view.decisions.find((decision) => decision.decision === "Reject")?.user ?? deciders}`;
    case "Expired":
      return `Approval expired with ${view.approvals}/${view.requiredApprovals} approvals`;
    default:
      return `Waiting for ${view.quorum.length > 0 ? view.missing.join(", ") : `${view.requiredApprovals - view.approvals} approval(s)`}: ${view.policies.join(", ")}, risk ${view.risk.score}/100`;
  }
}

async function notifyGitHub(github: CommitStatuses, step: Step): Promise<void> {
  const { view, request, marks, save, deps } = step;
  const ref = gitReferenceOf(request.metadata.annotations, defaultRepository(request, deps));
  const state = COMMIT_STATE[view.phase];
  if (!ref || !state) return;
  const mark = marks.github;
  if (mark && mark.phase === view.phase && mark.sha === ref.sha && mark.repository === ref.repository) return;
  const targetUrl = requestPageUrl(deps.dashboardUrl, view);
  await github.set(ref.repository, ref.sha, {
    state,
    description: commitDescription(view),
    ...(targetUrl ? { targetUrl } : {}),
  });
  await save({ ...marks, github: { ...ref, phase: view.phase } });
  deps.logger.info(
    { request: keyOf(request), repository: ref.repository, sha: ref.sha, state },
    "GitHub: commit status set",
  );
}
