import { createHmac } from "node:crypto";
import type { Request, Response } from "express";
import { z } from "zod";
import type { ApprovalView } from "../api/approval-view.js";
import { gitReferenceOf } from "../api/git-reference.js";
import type { ApprovalRequest } from "../api/v1alpha1/index.js";
import { requestCreatedAt, viewOf, type PolicyLookup } from "../approval/index.js";
import { commitDescription } from "../notify/notifier.js";
import type { DeploymentCallback, DeploymentReviews, DeploymentReviewState } from "../ports/deployment-reviews.js";
import type { ObjectStore } from "../ports/kube.js";
import type { Logger } from "../ports/logger.js";
import type { ReplayGuard } from "../ports/notify.js";
import { ApiError } from "./errors.js";
import { safeEqual } from "./slack-signature.js";

/**
 * What `createApiApp`'s `github` carries (its declared type names `webhookSecret` only; the rest
 * reaches the handler through the spread in `mountSignedWebhooks`).
 */
export interface GitHubWebhookSettings {
  webhookSecret: string;
  /** Answers `deployment_protection_rule` events; absent (no GITHUB_TOKEN): they are acknowledged and ignored. */
  deployments?: DeploymentGate;
}

export interface GitHubWebhookDependencies extends GitHubWebhookSettings {
  logger: Logger;
}

/** `sha256=` + hex HMAC-SHA256 of the raw body with the webhook secret (`X-Hub-Signature-256`). */
export function githubSignature(secret: string, rawBody: Buffer | string): string {
  return `sha256=${createHmac("sha256", secret).update(rawBody).digest("hex")}`;
}

export function verifyGitHubSignature(secret: string, rawBody: Buffer, header: string | undefined): boolean {
  if (!header) return false;
  return safeEqual(githubSignature(secret, rawBody), header);
}

/** A namespace labelled with this serves the GitHub environment named in the value (else: its own name). */
export const GITHUB_ENVIRONMENT_LABEL = "aegis.valina.ai/github-environment";

/** GitHub lets a delivery be redelivered for 3 days; a delivery id is remembered a day longer. */
const DELIVERY_TTL_SECONDS = 4 * 86_400;
const DELIVERY = /^[A-Za-z0-9-]{1,100}$/;

const deploymentProtectionSchema = z.object({
  action: z.literal("requested"),
  environment: z.string().min(1).max(255),
  event: z.string().optional(),
  deployment_callback_url: z.string().min(1).max(2048),
  deployment: z.object(
    {
      sha: z.string().regex(/^(?:[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$/, "a 40 or 64 hex digit commit"),
      ref: z.string().optional(),
      environment: z.string().optional(),
      payload: z.unknown().optional(),
    },
    "an object with the deployment's sha",
  ),
  repository: z.object(
    { full_name: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, "owner/name") },
    "an object with full_name",
  ),
  installation: z.object({ id: z.number().int() }).optional(),
});

/**
 * `POST /github/webhook`, mounted with a raw body parser: 401 unless `X-Hub-Signature-256`
 * matches; `ping` is answered with the hook id; `deployment_protection_rule` (action `requested`)
 * goes to the deployment gate (docs/github.md); other events are logged and acknowledged (202).
 */
export function githubWebhookHandler(deps: GitHubWebhookDependencies): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    const rawBody = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (!verifyGitHubSignature(deps.webhookSecret, rawBody, req.get("x-hub-signature-256"))) {
      throw new ApiError(
        401,
        "BadSignature",
        "X-Hub-Signature-256 is missing or does not match the body (HMAC-SHA256 with the webhook secret)",
      );
    }
    const event = req.get("x-github-event") ?? "";
    const delivery = req.get("x-github-delivery") ?? "";
    const body = parseJson(rawBody);
    if (event === "ping") {
      deps.logger.info({ delivery, hookId: body.hook_id }, "GitHub webhook ping");
      res.status(200).json({ ok: true, event, zen: typeof body.zen === "string" ? body.zen : "" });
      return;
    }
    if (event === "deployment_protection_rule" && body.action === "requested") {
      await deploymentProtectionRule(deps, delivery, body, res);
      return;
    }
    deps.logger.info(
      {
        event,
        delivery,
        action: body.action,
        repository: (body.repository as { full_name?: unknown } | undefined)?.full_name,
      },
      "GitHub webhook event received (no action taken)",
    );
    res.status(202).json({ ok: true, event, handled: false });
  };
}

async function deploymentProtectionRule(
  deps: GitHubWebhookDependencies,
  delivery: string,
  body: Record<string, unknown>,
  res: Response,
): Promise<void> {
  const event = "deployment_protection_rule";
  const parsed = deploymentProtectionSchema.safeParse(body);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join(".") || "body"}: ${issue.message}`);
    throw new ApiError(400, "BadPayload", `invalid deployment_protection_rule payload: ${problems.join("; ")}`);
  }
  const payload = parsed.data;
  const repository = payload.repository.full_name;
  const gate = deps.deployments;
  if (!gate) {
    deps.logger.warn(
      { delivery, repository, environment: payload.environment },
      "deployment_protection_rule received, but deployment protection is off (GITHUB_TOKEN unset): the job keeps waiting",
    );
    res.status(202).json({ ok: true, event, handled: false });
    return;
  }
  if (!DELIVERY.test(delivery)) {
    throw new ApiError(
      400,
      "BadDelivery",
      "X-GitHub-Delivery is missing or malformed: deployment_protection_rule deliveries are deduplicated by it",
    );
  }
  const callback = gate.callbackOf(payload.deployment_callback_url);
  const refusal = !callback.ok
    ? callback.reason
    : `${callback.callback.owner}/${callback.callback.repo}`.toLowerCase() !== repository.toLowerCase()
      ? `deployment_callback_url names ${callback.callback.owner}/${callback.callback.repo}, the payload ${repository}`
      : undefined;
  if (refusal !== undefined || !callback.ok) {
    deps.logger.warn(
      { delivery, repository, url: payload.deployment_callback_url.slice(0, 300), reason: refusal },
      "GitHub deployment_protection_rule refused: its callback URL is not one AEGIS calls with its token",
    );
    throw new ApiError(400, "CallbackRefused", `${refusal ?? ""}; AEGIS calls back only the configured GitHub API`);
  }
  let first: boolean;
  try {
    first = await gate.firstDelivery(delivery);
  } catch (error) {
    deps.logger.error({ err: error, delivery }, "GitHub delivery replay check failed");
    throw new ApiError(
      503,
      "ReplayCheckUnavailable",
      "the delivery could not be checked against earlier ones; redeliver later",
    );
  }
  if (!first) {
    deps.logger.info({ delivery, repository }, "GitHub delivery seen before; ignored");
    res.status(200).json({ ok: true, event, handled: false, duplicate: true });
    return;
  }
  const reply = await gate.receive({
    delivery,
    repository,
    sha: payload.deployment.sha.toLowerCase(),
    ref: payload.deployment.ref,
    environment: payload.environment,
    callback: callback.callback,
    installationId: payload.installation?.id,
  });
  res.status(reply.answered ? 200 : 202).json({ ok: true, event, handled: true, ...reply });
}

function parseJson(rawBody: Buffer): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(rawBody.toString("utf8") || "{}");
    return parsed !== null && typeof parsed === "object" ? (parsed as Record<string, unknown>) : {};
  } catch {
    throw new ApiError(
      400,
      "BadPayload",
      "the webhook body is not JSON (configure the hook with content type application/json)",
    );
  }
}

/** One `deployment_protection_rule` delivery: a workflow run waiting to deploy `sha` to `environment`. */
export interface DeploymentRequested {
  delivery: string;
  /** `owner/name`, as GitHub spells it. */
  repository: string;
  /** Lower-case hex. */
  sha: string;
  ref?: string | undefined;
  environment: string;
  callback: DeploymentCallback;
  installationId?: number | undefined;
}

/** What the gate reads: the caches and approval settings every replica has. */
export interface DeploymentGateSources {
  approvals: ObjectStore<ApprovalRequest>;
  policies: PolicyLookup;
  namespaceLabels: (namespace: string) => Readonly<Record<string, string>>;
  extraApprovals: () => number;
  now: () => Date;
  logger: Logger;
}

export interface DeploymentGateDependencies extends DeploymentGateSources {
  reviews: DeploymentReviews;
  /** Delivery ids seen (Redis when REDIS_URL is set, so one replica handles a delivery). */
  replay: ReplayGuard;
  /** Waiting deployments are looked at again this often (expiry, retries). Default 30 s. */
  sweepMs?: number;
  /** At most this many deployments wait at once; the oldest is dropped beyond. Default 10 000. */
  maxWaiting?: number;
  /** GitHub gives up on a protection rule after 30 days; so does AEGIS. */
  waitLimitMs?: number;
}

export type DeploymentVerdict =
  | { state: DeploymentReviewState; comment: string; requests: string[] }
  | { state: "waiting"; reason: string; requests: string[] };

export interface DeploymentReply {
  state: DeploymentReviewState | "waiting";
  /** True once GitHub accepted the answer. */
  answered: boolean;
  /** The ApprovalRequests (`namespace/name`) the answer is made of. */
  requests: string[];
  message: string;
}

interface Waiting {
  key: string;
  deployment: DeploymentRequested;
  receivedAt: number;
  attempts: number;
  retryAt: number;
  inFlight: boolean;
  lastReason: string;
}

/**
 * Custom deployment protection rules from ApprovalRequests. A deployment matches the requests
 * whose git reference (annotations, else the policy's repository) is its repository and commit,
 * in a namespace serving its environment; per target the newest request counts. Any Rejected or
 * Expired → rejected; all Approved → approved; otherwise (Pending, or no request yet) it waits
 * in this process and is answered when an ApprovalRequest changes (`poke`) or on the sweep.
 */
export class DeploymentGate {
  private readonly waiting = new Map<string, Waiting>();
  private readonly sweepMs: number;
  private timer: NodeJS.Timeout | undefined;
  private poked = false;

  constructor(private readonly deps: DeploymentGateDependencies) {
    this.sweepMs = deps.sweepMs ?? 30_000;
  }

  callbackOf(url: string): ReturnType<DeploymentReviews["callbackOf"]> {
    return this.deps.reviews.callbackOf(url);
  }

  /** True the first time a delivery id is seen; rejects when the check itself fails. */
  firstDelivery(delivery: string): Promise<boolean> {
    return this.deps.replay.firstSeen(`github-delivery:${delivery}`, DELIVERY_TTL_SECONDS);
  }

  /** How many deployments wait for an answer in this process. */
  get waitingCount(): number {
    return this.waiting.size;
  }

  /** Answers at once when the requests are decided; otherwise remembers the deployment. */
  async receive(deployment: DeploymentRequested): Promise<DeploymentReply> {
    const key =
      `${deployment.callback.owner}/${deployment.callback.repo}#${deployment.callback.runId}@${deployment.environment}`.toLowerCase();
    const max = this.deps.maxWaiting ?? 10_000;
    if (!this.waiting.has(key) && this.waiting.size >= max) {
      const [oldest] = this.waiting.values();
      if (oldest) {
        this.waiting.delete(oldest.key);
        this.deps.logger.warn(
          { delivery: oldest.deployment.delivery, repository: oldest.deployment.repository, max },
          "GitHub deployment dropped unanswered: too many deployments wait",
        );
      }
    }
    const entry: Waiting = {
      key,
      deployment,
      receivedAt: this.deps.now().getTime(),
      attempts: 0,
      retryAt: 0,
      inFlight: false,
      lastReason: "",
    };
    this.waiting.set(key, entry);
    this.deps.logger.info(
      {
        delivery: deployment.delivery,
        repository: deployment.repository,
        sha: deployment.sha,
        ref: deployment.ref,
        environment: deployment.environment,
        runId: deployment.callback.runId,
        installation: deployment.installationId,
      },
      "GitHub deployment protection rule requested",
    );
    const reply = await this.settle(entry);
    if (this.waiting.has(key)) this.schedule();
    return reply;
  }

  /** An ApprovalRequest changed: look at the waiting deployments soon (calls coalesce). */
  poke(): void {
    if (this.poked || this.waiting.size === 0) return;
    this.poked = true;
    setImmediate(() => {
      this.poked = false;
      void this.reconcile();
    });
  }

  /** Answers every waiting deployment that can be answered now; drops those GitHub gave up on. */
  async reconcile(): Promise<void> {
    const now = this.deps.now().getTime();
    const limit = this.deps.waitLimitMs ?? 30 * 86_400_000;
    const due: Waiting[] = [];
    for (const entry of this.waiting.values()) {
      if (now - entry.receivedAt > limit) {
        this.waiting.delete(entry.key);
        this.deps.logger.warn(
          { delivery: entry.deployment.delivery, repository: entry.deployment.repository },
          "GitHub deployment dropped unanswered: waited longer than GitHub does",
        );
      } else if (!entry.inFlight && entry.retryAt <= now) due.push(entry);
    }
    for (const entry of due) {
      // Another sweep or poke may have taken or answered it while this one awaited GitHub.
      if (entry.inFlight || this.waiting.get(entry.key) !== entry) continue;
      await this.settle(entry);
    }
    if (this.waiting.size === 0) this.stop();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** What the ApprovalRequests say about a deployment now. */
  verdict(deployment: Pick<DeploymentRequested, "repository" | "sha" | "environment">): DeploymentVerdict {
    const repository = deployment.repository.toLowerCase();
    const matching = this.deps.approvals.list().filter((request) => {
      const ref = gitReferenceOf(request.metadata.annotations, defaultRepository(request, this.deps.policies));
      return ref !== undefined && ref.sha === deployment.sha && ref.repository.toLowerCase() === repository;
    });
    const inEnvironment = matching.filter((request) =>
      this.serves(request.spec.target.namespace, deployment.environment),
    );
    const views = newestPerTarget(inEnvironment, this.deps.now()).map((request) => viewOf(request, this.deps));
    const requests = views.map((view) => `${view.namespace}/${view.name}`);
    if (views.length === 0) {
      const elsewhere = [...new Set(matching.map((request) => request.spec.target.namespace))].sort();
      return {
        state: "waiting",
        requests,
        reason:
          `no ApprovalRequest for ${deployment.repository}@${deployment.sha.slice(0, 12)} in a namespace of environment ` +
          `${deployment.environment} (named so, or labelled ${GITHUB_ENVIRONMENT_LABEL}=${deployment.environment})` +
          (elsewhere.length > 0 ? `; there are some in ${elsewhere.join(", ")}` : ""),
      };
    }
    const refused = views.filter((view) => view.phase === "Rejected" || view.phase === "Expired");
    if (refused.length > 0) return { state: "rejected", requests, comment: describe(refused) };
    const open = views.filter((view) => view.phase !== "Approved" && view.phase !== "Used");
    if (open.length > 0) {
      return {
        state: "waiting",
        requests,
        reason: `waiting for ${open.map((view) => `${view.namespace}/${view.name} (${view.approvals}/${view.requiredApprovals} approvals)`).join(", ")}`,
      };
    }
    return { state: "approved", requests, comment: describe(views) };
  }

  /** A namespace labelled `aegis.valina.ai/github-environment` serves that environment only; else the one of its name. */
  private serves(namespace: string, environment: string): boolean {
    const label = this.deps.namespaceLabels(namespace)[GITHUB_ENVIRONMENT_LABEL];
    return (label ?? namespace).toLowerCase() === environment.toLowerCase();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.reconcile(), this.sweepMs);
    this.timer.unref();
  }

  private async settle(entry: Waiting): Promise<DeploymentReply> {
    const deployment = entry.deployment;
    const fields = {
      delivery: deployment.delivery,
      repository: deployment.repository,
      sha: deployment.sha,
      environment: deployment.environment,
      runId: deployment.callback.runId,
    };
    const verdict = this.verdict(deployment);
    if (verdict.state === "waiting") {
      if (verdict.reason !== entry.lastReason) {
        entry.lastReason = verdict.reason;
        this.deps.logger.info({ ...fields, reason: verdict.reason }, "GitHub deployment waits for AEGIS");
      }
      return { state: "waiting", answered: false, requests: verdict.requests, message: verdict.reason };
    }
    entry.inFlight = true;
    const outcome = await this.deps.reviews
      .review(deployment.callback, {
        environment: deployment.environment,
        state: verdict.state,
        comment: verdict.comment,
      })
      .finally(() => (entry.inFlight = false));
    if (outcome.ok) {
      this.forget(entry);
      this.deps.logger.info(
        { ...fields, state: verdict.state, requests: verdict.requests },
        "GitHub deployment protection rule answered",
      );
      return { state: verdict.state, answered: true, requests: verdict.requests, message: verdict.comment };
    }
    entry.attempts += 1;
    if (!outcome.retryable) {
      this.forget(entry);
      this.deps.logger.error(
        { ...fields, state: verdict.state, error: outcome.message },
        "GitHub refused the deployment review; not retried",
      );
    } else {
      entry.retryAt = this.deps.now().getTime() + Math.min(this.sweepMs * 2 ** (entry.attempts - 1), 15 * 60_000);
      this.deps.logger.warn(
        { ...fields, state: verdict.state, attempts: entry.attempts, error: outcome.message },
        "GitHub deployment review failed; retrying",
      );
    }
    return { state: verdict.state, answered: false, requests: verdict.requests, message: outcome.message };
  }

  private forget(entry: Waiting): void {
    if (this.waiting.get(entry.key) === entry) this.waiting.delete(entry.key);
  }
}

function defaultRepository(request: ApprovalRequest, policies: PolicyLookup): string | undefined {
  for (const name of request.spec.policies) {
    const repository = policies.get(name)?.spec.notifications?.github?.repository;
    if (repository) return repository;
  }
  return undefined;
}

/** Per target (kind, namespace, name), the request created last. */
function newestPerTarget(requests: readonly ApprovalRequest[], now: Date): ApprovalRequest[] {
  const newest = new Map<string, { request: ApprovalRequest; createdAt: number }>();
  for (const request of requests) {
    const { apiVersion, kind, namespace, name } = request.spec.target;
    const key = `${apiVersion}/${kind}/${namespace}/${name}`;
    const createdAt = requestCreatedAt(request.metadata, now).getTime();
    const current = newest.get(key);
    if (!current || createdAt > current.createdAt) newest.set(key, { request, createdAt });
  }
  return [...newest.values()].map((entry) => entry.request);
}

function describe(views: readonly ApprovalView[]): string {
  return `AEGIS: ${views
    .map((view) => {
      const rejection =
        view.phase === "Rejected" ? view.decisions.find((decision) => decision.decision === "Reject") : undefined;
      const comment = rejection?.comment ? `: ${rejection.comment}` : "";
      return `${view.namespace}/${view.name} ${commitDescription(view)}${comment}`;
    })
    .join("; ")}`;
}
