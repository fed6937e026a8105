import { z } from "zod";
import { APPROVAL_PHASES, approvalRequestSpecSchema } from "../api/v1alpha1/index.js";

const riskModelReplySchema = z.object({
  version: z.string(),
  trainedOn: z.number().int(),
  weights: z.record(z.string(), z.number()),
  bias: z.number(),
});
const riskTrainingReplySchema = riskModelReplySchema.extend({
  published: z.boolean().meta({ description: "a new version was published (the weights changed)" }),
  learnt: z.number().int().meta({ description: "decisions learnt from since the last training" }),
});

const errorSchema = z.object({ error: z.string(), message: z.string() });
const approvalViewSchema = z.object({
  namespace: z.string(),
  name: z.string(),
  phase: z.enum(APPROVAL_PHASES),
  approvals: z.number().int(),
  requiredApprovals: z.number().int(),
  expiresAt: z.string(),
  decidedAt: z.string().nullable(),
  createdAt: z.string(),
  approvers: z.array(z.string()).meta({ description: "users whose approval stands (given, not revoked)" }),
  quorum: z.array(z.object({ group: z.string(), min: z.number().int(), counted: z.array(z.string()) })),
  missing: z.array(z.string()).meta({ description: 'what approval still lacks, e.g. "1 more from security"' }),
  breakGlass: approvalRequestSpecSchema.shape.breakGlass.unwrap().nullable(),
  reviewDueAt: z.string().nullable(),
  reviewOverdue: z.boolean(),
  target: approvalRequestSpecSchema.shape.target,
  changeHash: z.string(),
  summary: z.string(),
  reason: z.string(),
  policies: z.array(z.string()),
  requester: approvalRequestSpecSchema.shape.requester,
  risk: approvalRequestSpecSchema.shape.risk,
  decisions: approvalRequestSpecSchema.shape.decisions,
});
const policyViewSchema = z.object({
  name: z.string(),
  enforcement: z.string(),
  approval: z.string(),
  kinds: z.array(z.string()),
  checks: z.array(z.string()),
  ready: z.boolean(),
  message: z.string(),
});
const decisionBodySchema = z.object({
  comment: z.string().max(2000).optional(),
  via: z.enum(["api", "web"]).optional().meta({ description: "recorded channel: web for the dashboard; default api" }),
});
const evidenceRecordSchema = z.object({
  seq: z.number().int(),
  id: z.string(),
  time: z.string(),
  type: z.string(),
  subject: z.string(),
  actor: z.string(),
  data: z.record(z.string(), z.unknown()),
  prevHash: z.string(),
  hash: z.string(),
});
const resultCountsSchema = z.object({
  pass: z.number().int(),
  fail: z.number().int(),
  warn: z.number().int(),
  error: z.number().int(),
  skip: z.number().int(),
});
const namespaceAuditSchema = z.object({
  namespace: z.string(),
  summary: resultCountsSchema,
  reports: z.number().int(),
  findings: z.array(
    z.object({
      kind: z.string(),
      name: z.string(),
      policy: z.string(),
      rule: z.string(),
      result: z.enum(["pass", "fail", "warn", "error", "skip"]),
      severity: z.string().nullable(),
      message: z.string(),
      since: z.string().nullable(),
    }),
  ),
  truncated: z.number().int().meta({ description: "findings left out after the first 200" }),
});
const identitySchema = z.object({ username: z.string(), groups: z.array(z.string()) });
const slackReplySchema = z.object({
  ok: z.boolean(),
  response_type: z.literal("ephemeral"),
  replace_original: z.boolean(),
  text: z.string(),
});

const json = (schema: z.ZodType): unknown => ({
  "application/json": { schema: z.toJSONSchema(schema, { target: "openapi-3.0", io: "output" }) },
});
const reply = (description: string, schema: z.ZodType): unknown => ({ description, content: json(schema) });
const errors = {
  "400": reply("bad input", errorSchema),
  "404": reply("not found", errorSchema),
};
const pathParams = [
  { name: "namespace", in: "path", required: true, schema: { type: "string" } },
  { name: "name", in: "path", required: true, schema: { type: "string" } },
];

function decisionOperation(verb: string): unknown {
  return {
    summary:
      verb === "Revoke"
        ? "Withdraw the token user's own standing approval (Pending or Approved request; via: api)"
        : `${verb} a pending request as the token's user (via: api)`,
    security: [{ bearer: [] }],
    parameters: pathParams,
    requestBody: { required: false, content: json(decisionBodySchema) },
    responses: {
      "200": reply("the request after the decision", approvalViewSchema),
      ...errors,
      "401": reply("no or invalid bearer token", errorSchema),
      "403": reply("not allowed to approve", errorSchema),
      "409": reply(
        "the request is decided, has no approval of the user's to revoke, or changed meanwhile",
        errorSchema,
      ),
      "429": reply("too many failed authentications", errorSchema),
    },
  };
}

/** Optional endpoints: a running server documents only those it mounted. */
export interface ApiFeatures {
  events: boolean;
  evidence: boolean;
  evidenceKey: boolean;
  securityStatus: boolean;
  reports: boolean;
  riskModel: boolean;
  slack: boolean;
  github: boolean;
}

const ALL_FEATURES: ApiFeatures = {
  events: true,
  evidence: true,
  evidenceKey: true,
  securityStatus: true,
  reports: true,
  riskModel: true,
  slack: true,
  github: true,
};

/** Endpoints of the dashboard, live updates, evidence and the Slack/GitHub integrations. */
function integrationPaths(features: ApiFeatures): Record<string, unknown> {
  const unauthorized = reply("bad or missing signature", errorSchema);
  const all: Record<keyof ApiFeatures | "whoami", Record<string, unknown>> = {
    whoami: {
      "/api/whoami": {
        get: {
          summary:
            "the caller's identity (TokenReview or the dashboard session) and whether they may read every namespace",
          security: [{ bearer: [] }],
          responses: {
            "200": reply("identity", identitySchema.extend({ readsEveryNamespace: z.boolean() })),
            "401": reply("no or invalid bearer token", errorSchema),
            "429": reply("too many failed authentications", errorSchema),
          },
        },
      },
    },
    evidenceKey: {
      "/api/evidence/key": {
        get: {
          summary:
            "the Ed25519 public key (SPKI PEM) that signs evidence checkpoints and its key id: pin it with aegis evidence verify --key-id",
          responses: {
            "200": reply("the checkpoint signing key", z.object({ publicKey: z.string(), keyId: z.string() })),
          },
        },
      },
    },
    evidence: {
      "/api/evidence": {
        get: {
          summary: "the newest evidence records, newest first",
          parameters: [
            {
              name: "limit",
              in: "query",
              required: false,
              schema: { type: "integer", minimum: 1, maximum: 500, default: 50 },
            },
          ],
          responses: {
            "200": reply("records", z.object({ items: z.array(evidenceRecordSchema) })),
            "400": errors["400"],
          },
        },
      },
    },
    events: {
      "/api/events": {
        get: {
          summary:
            "server-sent events (send Accept: text/event-stream): one event per bus hint, named by topic (approval, policy, evidence, threat, selfhealing), data {topic, key, data}",
          responses: {
            "200": { description: "an event stream", content: { "text/event-stream": { schema: { type: "string" } } } },
            "406": reply("the client does not accept text/event-stream", errorSchema),
            "503": reply("too many open streams", errorSchema),
          },
        },
      },
    },
    securityStatus: {
      "/api/security/status": {
        get: {
          summary: "threat status, lockdown, and break-glass changes awaiting review (in the namespaces you may read)",
          responses: { "200": reply("status", z.record(z.string(), z.unknown())) },
        },
      },
    },
    reports: {
      "/api/reports": {
        get: {
          summary:
            "the background audit's results per namespace you may read (AEGIS's PolicyReports): summary counts and the fail, error and warn results, worst first (at most 200 per namespace)",
          parameters: [
            {
              name: "namespace",
              in: "query",
              required: false,
              schema: { type: "string", pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", maxLength: 63 },
            },
          ],
          responses: {
            "200": reply("audit results", z.object({ items: z.array(namespaceAuditSchema) })),
            "400": errors["400"],
            "503": reply("the API server did not list PolicyReports", errorSchema),
          },
        },
      },
    },
    riskModel: {
      "/api/risk/model": {
        get: {
          summary:
            "the risk model every replica scores with: its version (named in ApprovalRequests and evidence), how many human decisions it learnt from, and its weights in v1 points",
          responses: { "200": reply("the model in force", riskModelReplySchema) },
        },
      },
      "/api/risk/train": {
        post: {
          summary:
            "retrain the risk model from the ledger's human decisions now (verb update on aegispolicies); a changed model is published as a signed risk.model evidence record that every replica picks up",
          responses: { "200": reply("the model in force after training", riskTrainingReplySchema) },
        },
      },
    },
    slack: {
      "/slack/interactions": {
        post: {
          summary:
            "Slack block actions (aegis_approve / aegis_reject, value NAMESPACE/NAME), signed with X-Slack-Signature; recorded via slack for the user mapped in ConfigMap aegis-slack-users",
          requestBody: {
            required: true,
            content: {
              "application/x-www-form-urlencoded": {
                schema: { type: "object", properties: { payload: { type: "string" } }, required: ["payload"] },
              },
            },
          },
          responses: {
            "200": reply("handled; the text is also posted to response_url", slackReplySchema),
            "400": errors["400"],
            "401": unauthorized,
            "409": reply("a replayed interaction", errorSchema),
            "503": reply("replay protection unavailable", errorSchema),
          },
        },
      },
    },
    github: {
      "/github/webhook": {
        post: {
          summary:
            "GitHub webhook, signed with X-Hub-Signature-256: ping is answered; a deployment_protection_rule delivery is answered approved or rejected from the ApprovalRequests of its commit (docs/github.md), each X-GitHub-Delivery once; other events are acknowledged",
          requestBody: { required: true, content: { "application/json": { schema: { type: "object" } } } },
          responses: {
            "200": { description: "ping, or a delivery already handled" },
            "202": { description: "accepted: answered now, waiting for a decision, or not an event AEGIS acts on" },
            "400": errors["400"],
            "401": unauthorized,
            "503": reply("replay protection unavailable", errorSchema),
          },
        },
      },
    },
  };
  const enabled = (
    ["events", "evidence", "evidenceKey", "securityStatus", "reports", "riskModel", "slack", "github"] as const
  ).filter((feature) => features[feature]);
  return Object.assign({}, all.whoami, ...enabled.map((feature) => all[feature])) as Record<string, unknown>;
}

/** Every `/api/*` operation but the document itself takes a token or a dashboard session. */
function withAuthentication(paths: Record<string, unknown>): Record<string, unknown> {
  const authResponses = {
    "401": reply("no or invalid credentials (a token for audience aegis, or a dashboard session)", errorSchema),
    "403": reply("RBAC does not let the caller do this in that namespace", errorSchema),
    "429": reply("too many failed authentications, or too many open streams", errorSchema),
  };
  return Object.fromEntries(
    Object.entries(paths).map(([path, item]) => {
      if (!path.startsWith("/api/") || path === "/api/v1/openapi.json") return [path, item];
      const operations = Object.entries(item as Record<string, Record<string, unknown>>).map(([method, op]) => [
        method,
        {
          ...op,
          security: [{ bearer: [] }, { session: [] }],
          responses: { ...authResponses, ...(op["responses"] as Record<string, unknown>) },
        },
      ]);
      return [path, Object.fromEntries(operations)];
    }),
  );
}

/** The OpenAPI 3 document of the REST API, derived from the same zod schemas the code uses. */
export function buildOpenApiDocument(features: ApiFeatures = ALL_FEATURES): Record<string, unknown> {
  return {
    openapi: "3.0.3",
    info: { title: "AEGIS API", version: "v1" },
    components: {
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description:
            "a Kubernetes token minted for audience aegis (kubectl create token NAME --audience aegis), checked by TokenReview; reads are scoped by SubjectAccessReview (get approvalrequests)",
        },
        session: {
          type: "apiKey",
          in: "cookie",
          name: "aegis_session",
          description: "the dashboard's single sign-on session (OpenID Connect)",
        },
      },
    },
    paths: withAuthentication({
      "/health": {
        get: { summary: "liveness", responses: { "200": reply("alive", z.object({ status: z.literal("ok") })) } },
      },
      "/readyz": {
        get: {
          summary: "readiness: caches synced, evidence durable",
          responses: {
            "200": reply("ready", z.object({ ready: z.boolean(), checks: z.record(z.string(), z.boolean()) })),
            "503": reply("not ready", z.object({ ready: z.boolean(), checks: z.record(z.string(), z.boolean()) })),
          },
        },
      },
      "/api/policies": {
        get: {
          summary: "policies and whether they are Ready",
          responses: { "200": reply("policies", z.object({ items: z.array(policyViewSchema) })) },
        },
      },
      "/api/approvals": {
        get: {
          summary: "approval requests with their derived phase",
          parameters: [
            {
              name: "phase",
              in: "query",
              required: false,
              schema: { type: "string", enum: [...APPROVAL_PHASES] },
            },
          ],
          responses: {
            "200": reply("requests", z.object({ items: z.array(approvalViewSchema) })),
            "400": errors["400"],
          },
        },
      },
      "/api/approvals/{namespace}/{name}": {
        get: {
          summary: "one request",
          parameters: pathParams,
          responses: { "200": reply("the request", approvalViewSchema), ...errors },
        },
      },
      "/api/approvals/{namespace}/{name}/approve": { post: decisionOperation("Approve") },
      "/api/approvals/{namespace}/{name}/reject": { post: decisionOperation("Reject") },
      "/api/approvals/{namespace}/{name}/revoke": { post: decisionOperation("Revoke") },
      ...integrationPaths(features),
    }),
  };
}
