import express, { type NextFunction, type Request, type Response } from "express";
import { z } from "zod";
import type { ApprovalRequest, Decision } from "../api/v1alpha1/index.js";
import { approverProblems, type Identity, type RequestPolicies } from "../approval/index.js";
import type { AccessReviewer, TokenAuthenticator } from "../ports/auth.js";
import { approvalSettingsOf, type ObjectStore, type PolicySource } from "../ports/kube.js";
import type { AegisMetrics } from "../observability/metrics.js";
import { approvalView, type ApprovalView } from "./approval-view.js";
import { FailedAuthThrottle } from "./auth-throttle.js";
import { buildOpenApiDocument } from "./openapi.js";

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
  logger: { error(fields: Record<string, unknown>, message: string): void };
  throttle?: FailedAuthThrottle;
}

const decisionBodySchema = z.object({ comment: z.string().max(2000).default("") }).strict();
const phaseQuerySchema = z.enum(["Pending", "Approved", "Rejected", "Expired"]).optional();

class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** The REST API (DESIGN §4). Built without listening, so tests can drive it directly. */
export function createApiApp(deps: ApiDependencies): express.Express {
  const app = express();
  const throttle = deps.throttle ?? new FailedAuthThrottle();
  app.disable("x-powered-by");
  app.use(express.json({ limit: "64kb" }));

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
    res.json(buildOpenApiDocument());
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
    if (!phase.success) throw new ApiError(400, "BadQuery", "phase must be one of Pending, Approved, Rejected, Expired");
    const items = deps.approvals.list().map((request) => viewOf(request, deps));
    res.json({ items: phase.data ? items.filter((item) => item.phase === phase.data) : items });
  });
  app.get("/api/approvals/:namespace/:name", (req, res) => {
    res.json(viewOf(findRequest(deps, req.params.namespace, req.params.name), deps));
  });
  app.post("/api/approvals/:namespace/:name/:action", async (req, res) => {
    const action = req.params.action;
    if (action !== "approve" && action !== "reject") throw new ApiError(404, "NotFound", "use /approve or /reject");
    const identity = await authenticate(req, deps, throttle);
    const body = decisionBodySchema.safeParse(req.body ?? {});
    if (!body.success) throw new ApiError(400, "BadBody", `body must be {"comment": string}: ${body.error.issues[0]?.message ?? ""}`);
    const request = findRequest(deps, req.params.namespace, req.params.name);
    await authorize(identity, request, deps);
    const decision: Decision = { user: identity.username, decision: action === "approve" ? "Approve" : "Reject", comment: body.data.comment, at: deps.now().toISOString(), via: "api" };
    await deps.appendDecision(request, decision);
    const updated = { ...request, spec: { ...request.spec, decisions: [...request.spec.decisions, decision] } };
    res.json(viewOf(updated, deps));
  });

  app.use((_req, _res, next) => next(new ApiError(404, "NotFound", "no such endpoint")));
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (error instanceof ApiError) {
      res.status(error.status).json({ error: error.code, message: error.message });
      return;
    }
    const status = (error as { status?: number; statusCode?: number }).status ?? (error as { statusCode?: number }).statusCode;
    if (status && status >= 400 && status < 500) {
      res.status(status).json({ error: "BadRequest", message: error instanceof Error ? error.message : String(error) });
      return;
    }
    deps.logger.error({ err: error }, "API request failed");
    res.status(500).json({ error: "Internal", message: error instanceof Error ? error.message : String(error) });
  });
  return app;
}

function requestPolicies(deps: ApiDependencies, request: ApprovalRequest): RequestPolicies {
  return { settings: approvalSettingsOf(deps.policies, request.spec.policies), extraApprovals: deps.extraApprovals() };
}

function viewOf(request: ApprovalRequest, deps: ApiDependencies): ApprovalView {
  return approvalView(request, requestPolicies(deps, request), deps.now());
}

function findRequest(deps: ApiDependencies, namespace: string | undefined, name: string | undefined): ApprovalRequest {
  const request = deps.approvals.get(name ?? "", namespace);
  if (!request) throw new ApiError(404, "NotFound", `ApprovalRequest ${namespace ?? ""}/${name ?? ""} not found`);
  return request;
}

async function authenticate(req: Request, deps: ApiDependencies, throttle: FailedAuthThrottle): Promise<Identity> {
  const client = req.ip ?? "unknown";
  if (throttle.isBlocked(client)) {
    throw new ApiError(429, "TooManyFailedAuthentications", `too many failed authentications; retry in ${throttle.retryAfterSeconds(client)}s`);
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

async function authorize(identity: Identity, request: ApprovalRequest, deps: ApiDependencies): Promise<void> {
  const namespace = request.metadata.namespace ?? "";
  if (!(await deps.auth.canApprove(identity, namespace))) {
    throw new ApiError(403, "Forbidden", `${identity.username} may not approve approvalrequests.aegis.valina.ai in namespace ${namespace} (needs verb "approve"; bind the aegis-approver ClusterRole)`);
  }
  const view = viewOf(request, deps);
  if (view.phase !== "Pending") throw new ApiError(409, "NotPending", `the request is ${view.phase} and takes no more decisions`);
  const problems = approverProblems(identity, request.spec.requester.username, requestPolicies(deps, request), request.spec.policies);
  if (problems.length > 0) throw new ApiError(403, "NotAnApprover", problems.join("; "));
}
