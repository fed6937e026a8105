import express, { type NextFunction, type Request, type Response } from "express";
import { z } from "zod";
import { APPROVAL_PHASES, type ApprovalRequest, type Decision } from "../api/v1alpha1/index.js";
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
  breakGlassReviews,
  DecisionRefusedError,
  findRequest,
  recordDecision,
  viewOf,
  type DecisionDependencies,
} from "../approval/index.js";
import { ApiError, REFUSAL_STATUS } from "./errors.js";
import { eventStreamHandler } from "./events-stream.js";
import type { EvidenceReader } from "./evidence-reader.js";
import type { RiskModel } from "../risk/learning/index.js";
import type { EvidenceRecord } from "../ports/evidence.js";
import { CachedAccess, ReadScope, subjectNamespace } from "./access.js";
import { buildOpenApiDocument } from "./openapi.js";
import type { Logger } from "../ports/logger.js";
import type { PolicyReportReader } from "../ports/reports.js";
import type { PolicyReport } from "../api/wgpolicyk8s/policy-report.js";
import { auditViews } from "../audit/view.js";

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
  /** The audience tokens are reviewed for (named in 401 messages). Default `aegis`. */
  tokenAudience?: string;
  /** Reuse TokenReview/SubjectAccessReview answers for a few seconds. Default true. */
  accessCache?: boolean;
  /** Proxies whose X-Forwarded-For names the client (express `trust proxy`: addresses, CIDRs, `loopback`). */
  trustedProxies?: readonly string[];
  /** The dashboard's signed-in user, from its session cookie; absent: bearer tokens only. */
  sessionIdentity?: (req: Request) => Promise<Identity | null>;
  /** Single sign-on routes (`/auth/*`, src/http/oidc), open, mounted before `/api`; absent: none. */
  sso?: express.Router;
  /** Live updates for `GET /api/events` (server-sent events); absent: 404. */
  bus?: EventBus;
  /** Backs `GET /api/evidence?limit=N`; absent: 404. */
  evidence?: EvidenceReader;
  /** Backs `GET /api/evidence/key`: the key checkpoints are signed with, for auditors to pin. */
  evidenceKey?: { publicKeyPem: string; keyId: string };
  /** Backs `GET /api/reports`: AEGIS's PolicyReports in every namespace; absent: 404. */
  reports?: PolicyReportReader;
  /** Backs `GET /api/risk/model` and `POST /api/risk/train`; absent: 404. */
  riskTraining?: {
    current: () => { model: RiskModel; version: string };
    train: () => Promise<{ model: { model: RiskModel; version: string }; published: boolean; learnt: number }>;
  };
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
const DECISION_OF_ACTION: Readonly<Record<string, Decision["decision"]>> = {
  approve: "Approve",
  reject: "Reject",
  revoke: "Revoke",
};
const phaseQuerySchema = z.enum(APPROVAL_PHASES).optional();
const evidenceLimitSchema = z.coerce.number().int().min(1).max(500).default(50);
const namespaceQuerySchema = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
  .max(63)
  .optional();
/** One cluster-wide list serves every dashboard for this long (reports change at most per scan). */
const REPORTS_CACHE_MS = 5_000;
const RAW_BODY_LIMIT = "256kb";

/** The REST API (DESIGN §4). Built without listening, so tests can drive it directly. */
export function createApiApp(deps: ApiDependencies): express.Express {
  const app = express();
  const throttle = deps.throttle ?? new FailedAuthThrottle();
  const access = deps.accessCache === false ? deps.auth : new CachedAccess(deps.auth);
  app.disable("x-powered-by");
  if (deps.trustedProxies && deps.trustedProxies.length > 0) app.set("trust proxy", [...deps.trustedProxies]);
  mountSignedWebhooks(app, deps);
  app.use(express.json({ limit: "64kb" }));
  if (deps.dashboard !== false) app.use(dashboardRouter());
  if (deps.sso) app.use(deps.sso);
  // The dashboard asks whether to offer "Sign in with SSO"; a 404 would be a console error.
  else app.get("/auth/config", (_req, res) => void res.json({ enabled: false }));

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
        reports: !!deps.reports,
        riskModel: !!deps.riskTraining,
        slack: !!deps.slack,
        github: !!deps.github,
      }),
    );
  });

  // Everything else under /api is for authenticated callers, each read scoped by RBAC.
  app.use("/api", async (req, res, next) => {
    try {
      const identity = await authenticate(req, { ...deps, auth: access }, throttle);
      res.locals["scope"] = new ReadScope(identity, access);
      next();
    } catch (error) {
      next(error);
    }
  });
  mountReadEndpoints(app, deps);

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
  app.get("/api/approvals", async (req, res) => {
    const phase = phaseQuerySchema.safeParse(req.query.phase);
    if (!phase.success) throw new ApiError(400, "BadQuery", `phase must be one of ${APPROVAL_PHASES.join(", ")}`);
    const readable = await scopeOf(res).filter(deps.approvals.list(), (request) => request.metadata.namespace ?? null);
    const items = readable.map((request) => viewOf(request, deps));
    res.json({ items: phase.data ? items.filter((item) => item.phase === phase.data) : items });
  });
  app.get("/api/approvals/:namespace/:name", async (req, res) => {
    const { namespace, name } = req.params;
    await requireRead(scopeOf(res), namespace, `approvalrequests in namespace ${namespace}`);
    res.json(viewOf(findRequest(deps.approvals, namespace, name), deps));
  });
  app.get("/api/whoami", async (_req, res) => {
    const scope = scopeOf(res);
    res.json({
      username: scope.identity.username,
      groups: scope.identity.groups,
      readsEveryNamespace: await scope.readsEveryNamespace(),
    });
  });
  const { riskTraining } = deps;
  if (riskTraining) {
    app.get("/api/risk/model", (_req, res) => {
      res.json(modelReply(riskTraining.current()));
    });
    app.post("/api/risk/train", async (_req, res) => {
      const { identity } = scopeOf(res);
      if (!(await deps.auth.canTrainRisk(identity)))
        throw new ApiError(
          403,
          "Forbidden",
          `${identity.username} may not retrain the risk model (RBAC: verb update on aegispolicies.aegis.valina.ai)`,
        );
      const outcome = await riskTraining.train();
      deps.logger.info({ user: identity.username, version: outcome.model.version }, "risk model retrained on demand");
      res.json({ ...modelReply(outcome.model), published: outcome.published, learnt: outcome.learnt });
    });
  }
  app.post("/api/approvals/:namespace/:name/:action", async (req, res) => {
    const action = req.params.action;
    const decision = DECISION_OF_ACTION[action ?? ""];
    if (!decision) throw new ApiError(404, "NotFound", "use /approve, /reject or /revoke");
    const { identity } = scopeOf(res);
    const body = decisionBodySchema.safeParse(req.body ?? {});
    if (!body.success)
      throw new ApiError(
        400,
        "BadBody",
        `body must be {"comment": string, "via"?: "api"|"web"}: ${body.error.issues[0]?.message ?? ""}`,
      );
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
      if (error.status === 401) res.set("WWW-Authenticate", 'Bearer realm="aegis"');
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

function modelReply(inForce: { model: RiskModel; version: string }) {
  const { model, version } = inForce;
  const points = Object.fromEntries(Object.entries(model.weights).map(([name, w]) => [name, Math.round(w * 100) / 10]));
  return { version, trainedOn: model.trainedOn, weights: points, bias: Math.round(model.bias * 1000) / 1000 };
}

/** The caller's read scope, set by the /api authentication middleware. */
function scopeOf(res: Response): ReadScope {
  const scope: unknown = res.locals["scope"];
  if (!(scope instanceof ReadScope)) throw new Error("an /api route ran without the authentication middleware");
  return scope;
}

async function requireRead(scope: ReadScope, namespace: string | null, what: string): Promise<void> {
  if (await scope.mayRead(namespace)) return;
  throw new ApiError(
    403,
    "Forbidden",
    `${scope.identity.username} may not get ${what} (RBAC: verb get on approvalrequests.aegis.valina.ai)`,
  );
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
  if (deps.github) app.post("/github/webhook", raw, githubWebhookHandler({ ...deps.github, logger: deps.logger }));
}

function mountReadEndpoints(app: express.Express, deps: ApiDependencies): void {
  const { bus, evidence, evidenceKey, securityStatus } = deps;
  if (bus) app.get("/api/events", eventStreamHandler(bus, { scopeOf }));
  if (evidenceKey) {
    app.get("/api/evidence/key", (_req, res) => {
      res.json({ publicKey: evidenceKey.publicKeyPem, keyId: evidenceKey.keyId });
    });
  }
  if (evidence) {
    app.get("/api/evidence", async (req, res) => {
      const limit = evidenceLimitSchema.safeParse(req.query.limit);
      if (!limit.success) throw new ApiError(400, "BadQuery", "limit must be an integer from 1 to 500");
      res.json({ items: await readableEvidence(evidence, scopeOf(res), limit.data) });
    });
  }
  if (deps.reports) {
    const reports = deps.reports;
    let cached: { at: number; items: Promise<PolicyReport[]> } | undefined;
    const current = (): Promise<PolicyReport[]> => {
      const now = Date.now();
      if (cached === undefined || now - cached.at > REPORTS_CACHE_MS) {
        const items = reports.listAll();
        cached = { at: now, items };
        // A failed list is not kept: the next read asks the API server again.
        items.catch(() => {
          if (cached?.items === items) cached = undefined;
        });
      }
      return cached.items;
    };
    app.get("/api/reports", async (req, res) => {
      const namespace = namespaceQuerySchema.safeParse(req.query.namespace);
      if (!namespace.success) throw new ApiError(400, "BadQuery", "namespace must be a namespace name");
      let items: PolicyReport[];
      try {
        items = await current();
      } catch (error) {
        deps.logger.warn({ err: error }, "listing PolicyReports for the API failed");
        throw new ApiError(
          503,
          "ReportsUnavailable",
          `the API server did not list PolicyReports: ${String(error)}; retry shortly`,
        );
      }
      const wanted = namespace.data ? items.filter((report) => report.metadata.namespace === namespace.data) : items;
      const readable = await scopeOf(res).filter(wanted, (report) => report.metadata.namespace);
      res.json({ items: auditViews(readable) });
    });
  }
  if (securityStatus) {
    app.get("/api/security/status", async (_req, res) => {
      const status = await securityStatus();
      const scope = scopeOf(res);
      // Break-glass changes waiting for review, in the namespaces the caller may read.
      const readable = await scope.filter(
        breakGlassReviews(deps.approvals.list()),
        (r) => r.metadata.namespace ?? null,
      );
      const breakGlass = {
        unreviewed: readable.length,
        overdue: readable.filter((request) => request.status?.reviewOverdue).length,
        requests: readable.map((request) => ({
          namespace: request.metadata.namespace ?? "",
          name: request.metadata.name ?? "",
          target: request.spec.target,
          user: request.spec.breakGlass?.user ?? "",
          reason: request.spec.breakGlass?.reason ?? "",
          reviewDueAt: request.status?.reviewDueAt ?? null,
          overdue: request.status?.reviewOverdue === true,
        })),
      };
      if (await scope.readsEveryNamespace()) {
        res.json({ ...status, breakGlass });
        return;
      }
      // Threats name users and namespaces: those scoped to some namespaces see only what
      // applies to everyone (why more approvals are asked for now).
      const { mode, lockdown, extraApprovals } = status;
      res.json({ mode, lockdown: withoutThreatDetails(lockdown), extraApprovals, breakGlass, scoped: true });
    });
  }
}

/**
 * An automatic lockdown's reason is the threat that started it (a user's name, a namespace): a
 * namespace-scoped caller learns that one is on and until when, not about whom. A manual
 * lockdown's reason is the operator's note to everyone.
 */
function withoutThreatDetails(lockdown: unknown): unknown {
  if (lockdown === null || typeof lockdown !== "object") return lockdown ?? null;
  const record = lockdown as Record<string, unknown>;
  if (record["manual"] === true) return lockdown;
  return { ...record, reason: "a threat was detected (details for those who may read every namespace)" };
}

/** How many of the newest records a namespace-scoped caller's read looks through at most. */
const EVIDENCE_SCAN_LIMIT = 5000;
const EVIDENCE_PAGE = 250;

/** The newest `limit` records the caller may read, newest first. */
async function readableEvidence(reader: EvidenceReader, scope: ReadScope, limit: number): Promise<EvidenceRecord[]> {
  if (await scope.readsEveryNamespace()) return reader.latest(limit);
  const items: EvidenceRecord[] = [];
  let before: number | undefined;
  for (let scanned = 0; items.length < limit && scanned < EVIDENCE_SCAN_LIMIT;) {
    const page = await reader.latest(EVIDENCE_PAGE, before);
    const last = page.at(-1);
    if (last === undefined) break;
    scanned += page.length;
    items.push(...(await scope.filter(page, (record) => subjectNamespace(record.subject))));
    before = last.seq;
  }
  return items.slice(0, limit);
}

async function authenticate(req: Request, deps: ApiDependencies, throttle: FailedAuthThrottle): Promise<Identity> {
  const client = req.ip ?? "unknown";
  const header = req.get("authorization") ?? "";
  const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
  if (!token) {
    const session = await deps.sessionIdentity?.(req);
    if (session) return session;
    throw new ApiError(
      401,
      "Unauthenticated",
      `missing Authorization: Bearer <token>: mint one for AEGIS with kubectl create token NAME --audience ${deps.tokenAudience ?? "aegis"}, or sign in on the dashboard`,
    );
  }
  // A token that passed recently is its user's, not a guess: a noisy neighbour behind the same
  // address must not lock that user out.
  if (throttle.isBlocked(client) && !throttle.isKnownGood(token)) {
    throw new ApiError(
      429,
      "TooManyFailedAuthentications",
      `too many failed authentications from ${client}; retry in ${throttle.retryAfterSeconds(client)}s`,
    );
  }
  const identity = await deps.auth.authenticate(token);
  if (!identity) {
    throttle.recordFailure(client);
    throw new ApiError(
      401,
      "Unauthenticated",
      `the bearer token was not accepted by the API server's TokenReview for audience ${deps.tokenAudience ?? "aegis"} (mint one with kubectl create token NAME --audience ${deps.tokenAudience ?? "aegis"})`,
    );
  }
  throttle.recordSuccess(token);
  return identity;
}
