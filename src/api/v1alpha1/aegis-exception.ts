import { z } from "zod";
import { GATED_KINDS } from "./aegis-policy.js";
import { CHANGE_HASH_PATTERN } from "./approval-request.js";
import { API_VERSION, conditionSchema, labelSelectorSchema, objectMetaSchema } from "./common.js";

export const EXCEPTION_PHASES = ["Pending", "Active", "Expired", "Rejected", "Invalid"] as const;
export type ExceptionPhase = (typeof EXCEPTION_PHASES)[number];

const ONE_TARGET_MESSAGE = "target names exactly one of name or selector";
const NON_EMPTY_SELECTOR_MESSAGE =
  "target.selector must have matchLabels or matchExpressions: an empty selector would waive the checks for every object of the kind";

export const exceptionTargetSchema = z
  .object({
    kind: z.enum(GATED_KINDS),
    name: z.string().min(1).max(253).optional(),
    selector: labelSelectorSchema.optional(),
  })
  .superRefine((target, ctx) => {
    if ((target.name === undefined) === (target.selector === undefined))
      ctx.addIssue({ code: "custom", message: ONE_TARGET_MESSAGE });
    const selector = target.selector;
    if (
      selector &&
      Object.keys(selector.matchLabels ?? {}).length === 0 &&
      (selector.matchExpressions ?? []).length === 0
    )
      ctx.addIssue({ code: "custom", path: ["selector"], message: NON_EMPTY_SELECTOR_MESSAGE });
  })
  .meta({
    description: "The objects the exception covers, in its own namespace: one by kind and name, or by kind and labels.",
    "x-kubernetes-validations": [{ rule: "has(self.name) != has(self.selector)", message: ONE_TARGET_MESSAGE }],
  });
export type ExceptionTarget = z.infer<typeof exceptionTargetSchema>;

export const aegisExceptionSpecSchema = z.object({
  target: exceptionTargetSchema,
  policies: z.array(z.string().min(1).max(253)).min(1).max(20).meta({
    description: "The AegisPolicies whose checks are waived; each must name approvers (spec.approval).",
  }),
  checks: z.array(z.string().min(1).max(63)).min(1).max(64).optional().meta({
    description:
      "The check names waived (each must exist in one of the policies); unset: every check of the policies. Approval requirements are never waived.",
  }),
  owner: z.string().min(1).max(253).meta({ description: "Who answers for the exception (a person or team)." }),
  reason: z.string().min(1).max(1024),
  ticket: z.string().min(1).max(253).optional(),
  expiresAt: z
    .string()
    .refine((value) => /^\d{4}-\d\d-\d\dT/.test(value) && !Number.isNaN(Date.parse(value)), {
      message: "an RFC 3339 time, e.g. 2026-12-31T18:00:00Z",
    })
    .meta({
      format: "date-time",
      description:
        "When the waiver ends, at most the shortest maxExceptionDuration of its policies after the exception was requested.",
    }),
  changeHash: z
    .string()
    .regex(new RegExp(CHANGE_HASH_PATTERN), "sha256: followed by 64 lower-case hex digits")
    .optional()
    .meta({
      description:
        "Binds the exception to one change of the target (the changeHash an ApprovalRequest or denial names): any other spec gets no waiver.",
    }),
});
export type AegisExceptionSpec = z.infer<typeof aegisExceptionSpecSchema>;

export const aegisExceptionStatusSchema = z.object({
  phase: z.enum(EXCEPTION_PHASES).optional(),
  approvalRequest: z.string().optional().meta({ description: "The ApprovalRequest that decides this exact spec." }),
  approvedBy: z.array(z.string()).optional(),
  expiresAt: z.string().meta({ format: "date-time" }).optional(),
  message: z.string().optional(),
  observedGeneration: z.number().int().min(0).optional(),
  conditions: z.array(conditionSchema).optional(),
});
export type AegisExceptionStatus = z.infer<typeof aegisExceptionStatusSchema>;

export const aegisExceptionSchema = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal("AegisException"),
  metadata: objectMetaSchema,
  spec: aegisExceptionSpecSchema,
  status: aegisExceptionStatusSchema.optional(),
});
export type AegisException = z.infer<typeof aegisExceptionSchema>;
