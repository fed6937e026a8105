import { z } from "zod";
import { API_VERSION, conditionSchema, objectMetaSchema } from "./common.js";

export const CHANGE_HASH_PATTERN = "^sha256:[0-9a-f]{64}$";

export const APPROVAL_PHASES = ["Pending", "Approved", "Rejected", "Expired", "Used", "ReviewRequired"] as const;
export type ApprovalPhase = (typeof APPROVAL_PHASES)[number];

export const DECISION_CHANNELS = ["kubectl", "api", "slack", "web", "admission"] as const;
export type DecisionChannel = (typeof DECISION_CHANNELS)[number];

export const riskFactorSchema = z.object({
  name: z.string().min(1),
  points: z.number().int(),
  detail: z.string(),
});
export type RiskFactor = z.infer<typeof riskFactorSchema>;

export const DECISION_KINDS = ["Approve", "Reject", "Revoke", "Consume"] as const;
export type DecisionKind = (typeof DECISION_KINDS)[number];

export const decisionSchema = z.object({
  user: z.string().min(1),
  decision: z.enum(DECISION_KINDS).meta({
    description:
      "Revoke withdraws the same user's earlier Approve. Consume is written by AEGIS (via admission) when a singleUse approval admits its change.",
  }),
  groups: z.array(z.string()).max(256).optional().meta({
    description:
      "Groups the decider belonged to when deciding, as the API server authenticated them; quorum slots are filled from these.",
  }),
  comment: z.string().default(""),
  at: z.string().meta({ format: "date-time" }),
  via: z.enum(DECISION_CHANNELS),
});
export type Decision = z.infer<typeof decisionSchema>;

export const approvalTargetSchema = z.object({
  apiVersion: z.string().min(1),
  kind: z.string().min(1),
  namespace: z.string().min(1),
  name: z.string().min(1),
});
export type ApprovalTarget = z.infer<typeof approvalTargetSchema>;

export const approvalRequestSpecSchema = z.object({
  target: approvalTargetSchema,
  changeHash: z.string().regex(new RegExp(CHANGE_HASH_PATTERN), "sha256: followed by 64 lower-case hex digits"),
  policies: z.array(z.string().min(1)).min(1),
  requester: z.object({ username: z.string().min(1), groups: z.array(z.string()).default([]) }),
  risk: z.object({
    score: z.number().int().min(0).max(100),
    factors: z.array(riskFactorSchema).default([]),
    model: z.string().max(64).optional().meta({
      description:
        'The model that scored the change: a learned version ("v2-" and 12 hex digits, its risk.model evidence record holds the weights) or "v1". Each factor\'s points are its contribution under that model.',
    }),
    probability: z.number().min(0).max(1).optional().meta({
      description: "The learned model's probability that a human rejects the change.",
    }),
    shadowAutoApprove: z.boolean().optional().meta({
      description:
        "Set by AEGIS: the score was below autoApproveBelow of every policy asking, which are in shadow mode: without it, no human would have been asked.",
    }),
  }),
  summary: z.string().default(""),
  reason: z.string().default(""),
  decisions: z.array(decisionSchema).default([]),
  changeSpec: z.string().max(65_536).optional().meta({
    description:
      "Set by AEGIS: the workload's spec as this change would run it (RFC 8785 JSON, when under 64 KiB). Once the request is approved, later changes of the target are risk-scored against it rather than against the object they replace, so splitting a change into small steps does not lower its risk.",
  }),
  access: z
    .object({
      action: z.enum(["exec", "attach", "portforward"]),
      user: z.string().min(1),
      ttl: z.string().min(1),
    })
    .optional()
    .meta({
      description:
        "Set by AEGIS on an AccessRequest: the action on the target Pod it asks for, for whom, and how long an approval lets them in.",
    }),
  breakGlass: z
    .object({
      user: z.string().min(1),
      reason: z.string().min(1),
      at: z.string().meta({ format: "date-time" }),
      reviewWithin: z.string().min(1),
    })
    .optional()
    .meta({
      description:
        "Set by AEGIS when the change was admitted by break-glass: the request then asks approvers to review what already runs.",
    }),
});
export type ApprovalRequestSpec = z.infer<typeof approvalRequestSpecSchema>;

export const approvalRequestStatusSchema = z.object({
  phase: z.enum(APPROVAL_PHASES).optional(),
  approvals: z.number().int().min(0).optional(),
  requiredApprovals: z.number().int().min(1).optional(),
  expiresAt: z.string().meta({ format: "date-time" }).optional(),
  decidedAt: z.string().meta({ format: "date-time" }).nullable().optional(),
  reviewDueAt: z.string().meta({ format: "date-time" }).optional(),
  reviewOverdue: z.boolean().optional(),
  missing: z
    .array(z.string())
    .optional()
    .meta({ description: 'What approval still lacks, e.g. "1 more from security"; empty once Approved.' }),
  observedGeneration: z.number().int().min(0).optional(),
  conditions: z.array(conditionSchema).optional(),
});
export type ApprovalRequestStatus = z.infer<typeof approvalRequestStatusSchema>;

export const approvalRequestSchema = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal("ApprovalRequest"),
  metadata: objectMetaSchema,
  spec: approvalRequestSpecSchema,
  status: approvalRequestStatusSchema.optional(),
});
export type ApprovalRequest = z.infer<typeof approvalRequestSchema>;
