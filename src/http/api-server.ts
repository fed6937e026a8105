import express, { type NextFunction, type Request, type Response } from "express";
import { z } from "zod";
import type { ApprovalRequest, Decision } from "../api/v1alpha1/index.js";
import type { Identity } from "../api/identity.js";
import { githubWebhookHandler } from "./github-webhook.js";
import { slackInteractionsHandler } from "./slack-interactions.js";
import type { ReplayGuard, SlackIdentityMap } from "../ports/notify.js";
import { dashboardRouter } from "../dashboard/routes.js";
import type { AccessReviewer, TokenAuthenticator } from "../ports/auth.js";
import type { EventBus } from "../ports/bus.js";
import type { ObjectStore, PolicySource } from "../ports/kube.js";
import type { AegisMetrics } from "../observability/metrics.js";
import { FailedAuthThrottle } from "./auth-throttle.js";
import {
  DecisionRefusedError,
  findRequest,
  recordDecision,
  viewOf,
  type DecisionDependencies,
} from "../approval/index.js";
import { ApiError, REFUSAL_STATUS } from "./errors.js";
import { eventStreamHandler } from "./events-stream.js";
import type { EvidenceReader } from "./evidence-reader.js";
import { buildOpenApiDocument } from "./openapi.js";
import type { Logger } from "../ports/logger.js";

export interface Readiness {
  ready: boolean;
  checks: Record<string, boolean>;
}

export interface ApiDependencies {
  readiness: () => Readiness;
  metrics: AegisMetrics;
  policies: PolicySource<unknown>;
  approvals: ObjectStore<ApprovalRequest>;
  auth: TokenAuthenticator & AccessReviewer;
  /** Writes the decision as AEGIS's service account; the webhook re-checks the rules. */
  appendDecision: (request: ApprovalRequest, decision: Decision) => Promise<void>;
  extraApprovals: () => number;
  now: () => Date;
  logger: Logger;
  throttle?: FailedAuthThrottle;
  /** Live updates for `GET /api/events` (server-sent events); absent: 404. */
  bus?: EventBus;
  /** Backs `GET /api/evidence?limit=N`; absent: 404. */
  evidence?: EvidenceReader;
  /** Backs `GET /api/evidence/key`: the key checkpoints are signed with, for auditors to pin. */
  evidenceKey?: { publicKeyPem: string; keyId: string };
  /** Backs `GET /api/security/status`; absent: 404 (the dashboard shows "not available"). */
  securityStatus?: () => Promise<Record<string, unknown>> | Record<string, unknown>;
  /** `POST /slack/interactions`; absent: 404. */
  slack?: SlackInteractionSettings;
  /** `POST /github/webhook`; absent: 404. */
  github?: { webhookSecret: string };
  /** Serve the web dashboard at `/`. Default true. */
  dashboard?: boolean;
}

export interface SlackInteractionSettings {
  signingSecret: string;
  identities: SlackIdentityMap;
  replay: ReplayGuard;
  /** Only response URLs under this prefix are called back. Default `https://hooks.slack.com/`. */
  responseUrlPrefix?: string;
}

const decisionBodySchema = z
  .object({ comment: z.string().max(2000).default(""), via: z.enum(["api", "web"]).default("api") })
  .strict();
const phaseQuerySchema = z.enum(["Pending", "Approved", "Rejected", "Expired"]).optional();
const evidenceLimitSchema = z.coerce.number().int().min(1).max(500).default(50);
const RAW_BODY_LIMIT = "256kb";

/** The REST API (DESIGN §4). Built without listening, so tests can drive it directly. */
export function createApiApp(deps: ApiDependencies): express.Express {
  const app = express();
  const throttle = deps.throttle ?? new FailedAuthThrottle();
  app.disable("x-powered-by");
  mountSignedWebhooks(app, deps);
  app.use(express.json({ limit: "64kb" }));
  if (deps.dashboard !== false) app.use(dashboardRouter());
  mountReadEndpoints(app, deps);

  app.get("/health", (_req, res) => {
    res.json({ status: "ok" });
  });
  app.get("/readyz", (_req, res) => {
    const readiness = deps.readiness();
    res.status(readiness.ready ? 200 : 503).json(readiness);
  });
  app.get("/metrics", async (_req, res) => {
    res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
  });
  app.get("/api/v1/openapi.json", (_req, res) => {
    res.json(
      buildOpenApiDocument({
        events: !!deps.bus,
        evidence: !!deps.evidence,
        evidenceKey: !!deps.evidenceKey,
        securityStatus: !!deps.securityStatus,
        slack: !!deps.slack,
        github: !!deps.github,
      }),
    );
  });
  app.get("/api/policies", (_req, res) => {
    const items = deps.policies.list().map(({ policy, compileError }) => ({
      name: policy.metadata.name ?? "",
      enforcement: policy.spec.enforcement,
      approval: policy.spec.approval?.mode ?? "Never",
      kinds: policy.spec.match.kinds,
      checks: policy.spec.checks.map((check) => check.name),
      ready: compileError === undefined,
      message: compileError ?? "",
    }));
    res.json({ items });
  });
  app.get("/api/approvals", (req, res) => {
    const phase = phaseQuerySchema.safeParse(req.query.phase);
    if (!phase.success)
      throw new ApiError(400, "BadQuery", "phase must be one of Pending, Approved, Rejected, Expired");
    const items = deps.approvals.list().map((request) => viewOf(request, deps));
    res.json({ items: phase.data ? items.filter((item) => item.phase === phase.data) : items });
  });
  app.get("/api/approvals/:namespace/:name", (req, res) => {
    res.json(viewOf(findRequest(deps.approvals, req.params.namespace, req.params.name), deps));
  });
  app.get("/api/whoami", async (req, res) => {
    const identity = await authenticate(req, deps, throttle);
    res.json({ username: identity.username, groups: identity.groups });
  });
  app.post("/api/approvals/:namespace/:name/:action", async (req, res) => {
    const action = req.params.action;
    if (action !== "approve" && action !== "reject") throw new ApiError(404, "NotFound", "use /approve or /reject");
    const identity = await authenticate(req, deps, throttle);
    const body = decisionBodySchema.safeParse(req.body ?? {});
    if (!body.success)
      throw new ApiError(
        400,
        "BadBody",
        `body must be {"comment": string, "via"?: "api"|"web"}: ${body.error.issues[0]?.message ?? ""}`,
      );
    const decision = action === "approve" ? "Approve" : "Reject";
    const input = {
      identity,
      namespace: req.params.namespace,
      name: req.params.name,
      decision,
      comment: body.data.comment,
      via: body.data.via,
    } as const;
    res.json(await recordDecision(input, decisionDeps(deps)));
  });

  app.use((_req, _res, next) => next(new ApiError(404, "NotFound", "no such endpoint")));
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof ApiError) {
      res.status(error.status).json({ error: error.code, message: error.message });
      return;
    }
    if (error instanceof DecisionRefusedError) {
      res.status(REFUSAL_STATUS[error.refusal]).json({ error: error.refusal, message: error.message });
      return;
    }
    const status =
      (error as { status?: number; statusCode?: number }).status ?? (error as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      res.status(status).json({ error: "BadRequest", message: error instanceof Error ? error.message : String(error) });
      return;
    }
    deps.logger.error({ err: error }, "API request failed");
    res.status(500).json({ error: "Internal", message: error instanceof Error ? error.message : String(error) });
  });
  return app;
}

function decisionDeps(deps: ApiDependencies): DecisionDependencies {
  return {
    policies: deps.policies,
    approvals: deps.approvals,
    auth: deps.auth,
    appendDecision: deps.appendDecision,
    extraApprovals: deps.extraApprovals,
    now: deps.now,
  };
}

/** Slack and GitHub sign the exact bytes they send, so these routes read the raw body. */
function mountSignedWebhooks(app: express.Express, deps: ApiDependencies): void {
  const raw = express.raw({ type: () => true, limit: RAW_BODY_LIMIT });
  const slack = deps.slack;
  if (slack) {
    app.post(
      "/slack/interactions",
      raw,
      slackInteractionsHandler({ ...slack, decisions: decisionDeps(deps), logger: deps.logger }),
    );
  }
  if (deps.github)
    app.post("/github/webhook", raw, githubWebhookHandler({ secret: deps.github.webhookSecret, logger: deps.logger }));
}

function mountReadEndpoints(app: express.Express, deps: ApiDependencies): void {
  const { bus, evidence, evidenceKey, securityStatus } = deps;
  if (bus) app.get("/api/events", eventStreamHandler(bus));
  if (evidenceKey) {
    app.get("/api/evidence/key", (_req, res) => {
      res.json({ publicKey: evidenceKey.publicKeyPem, keyId: evidenceKey.keyId });
    });
  }
  if (evidence) {
    app.get("/api/evidence", async (req, res) => {
      const limit = evidenceLimitSchema.safeParse(req.query.limit);
      if (!limit.success) throw new ApiError(400, "BadQuery", "limit must be an integer from 1 to 500");
      res.json({ items: await evidence.latest(limit.data) });
    });
  }
  if (securityStatus) {
    app.get("/api/security/status", async (_req, res) => {
      res.json(await securityStatus());
    });
  }
}

async function authenticate(req: Request, deps: ApiDependencies, throttle: FailedAuthThrottle): Promise<Identity> {
  const client = req.ip ?? "unknown";
  if (throttle.isBlocked(client)) {
    throw new ApiError(
      429,
      "TooManyFailedAuthentications",
      `too many failed authentications; retry in ${throttle.retryAfterSeconds(client)}s`,
    );
  }
  const header = req.get("authorization") ?? "";
  const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  if (!token) {
    throttle.recordFailure(client);
    throw new ApiError(401, "Unauthenticated", "missing Authorization: Bearer <kubernetes token>");
  }
  const identity = await deps.auth.authenticate(token);
  if (!identity) {
    throttle.recordFailure(client);
    throw new ApiError(401, "Unauthenticated", "the bearer token was not accepted by the API server's TokenReview");
  }
  return identity;
}
