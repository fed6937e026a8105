import { z } from "zod";
import { approvalRequestSpecSchema } from "../api/v1alpha1/index.js";

const errorSchema = z.object({ error: z.string(), message: z.string() });
const approvalViewSchema = z.object({
  namespace: z.string(),
  name: z.string(),
  phase: z.enum(["Pending", "Approved", "Rejected", "Expired"]),
  approvals: z.number().int(),
  requiredApprovals: z.number().int(),
  expiresAt: z.string(),
  decidedAt: z.string().nullable(),
  createdAt: z.string(),
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
const decisionBodySchema = z.object({ comment: z.string().max(2000).optional() });

const json = (schema: z.ZodType): unknown => ({ "application/json": { schema: z.toJSONSchema(schema, { target: "openapi-3.0", io: "output" }) } });
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
    summary: `${verb} a pending request as the token's user (via: api)`,
    security: [{ bearer: [] }],
    parameters: pathParams,
    requestBody: { required: false, content: json(decisionBodySchema) },
    responses: {
      "200": reply("the request after the decision", approvalViewSchema),
      ...errors,
      "401": reply("no or invalid bearer token", errorSchema),
      "403": reply("not allowed to approve", errorSchema),
      "409": reply("the request is decided or changed meanwhile", errorSchema),
      "429": reply("too many failed authentications", errorSchema),
    },
  };
}

/** The OpenAPI 3 document of the REST API, derived from the same zod schemas the code uses. */
export function buildOpenApiDocument(): Record<string, unknown> {
  return {
    openapi: "3.0.3",
    info: { title: "AEGIS API", version: "v1" },
    components: { securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "a Kubernetes token, checked by TokenReview" } } },
    paths: {
      "/health": { get: { summary: "liveness", responses: { "200": reply("alive", z.object({ status: z.literal("ok") })) } } },
      "/readyz": {
        get: {
          summary: "readiness: caches synced, evidence durable",
          responses: {
            "200": reply("ready", z.object({ ready: z.boolean(), checks: z.record(z.string(), z.boolean()) })),
            "503": reply("not ready", z.object({ ready: z.boolean(), checks: z.record(z.string(), z.boolean()) })),
          },
        },
      },
      "/api/policies": { get: { summary: "policies and whether they are Ready", responses: { "200": reply("policies", z.object({ items: z.array(policyViewSchema) })) } } },
      "/api/approvals": {
        get: {
          summary: "approval requests with their derived phase",
          parameters: [{ name: "phase", in: "query", required: false, schema: { type: "string", enum: ["Pending", "Approved", "Rejected", "Expired"] } }],
          responses: { "200": reply("requests", z.object({ items: z.array(approvalViewSchema) })), "400": errors["400"] },
        },
      },
      "/api/approvals/{namespace}/{name}": { get: { summary: "one request", parameters: pathParams, responses: { "200": reply("the request", approvalViewSchema), ...errors } } },
      "/api/approvals/{namespace}/{name}/approve": { post: decisionOperation("Approve") },
      "/api/approvals/{namespace}/{name}/reject": { post: decisionOperation("Reject") },
    },
  };
}
