import { z } from "zod";
import {
  API_VERSION,
  conditionSchema,
  durationSchema,
  durationToMs,
  labelSelectorSchema,
  objectMetaSchema,
} from "./common.js";

/** Kinds a policy can match. Pods are gated only when bare (no controller ownerReference). */
export const GATED_KINDS = ["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"] as const;
export type GatedKind = (typeof GATED_KINDS)[number];

export const CHECK_FIELDS = [
  "podSecurity",
  "allowedRegistries",
  "requireImageDigest",
  "disallowLatestTag",
  "requireResources",
  "requiredLabels",
  "cel",
] as const;
export type CheckField = (typeof CHECK_FIELDS)[number];

const RESOURCE_NAMES = z.array(z.enum(["cpu", "memory", "ephemeral-storage"]));

export const podSecuritySettingsSchema = z.object({
  level: z.enum(["baseline", "restricted"]),
  version: z
    .string()
    .regex(/^(latest|v1\.[0-9]+)$/, 'a Pod Security version: "latest" or "v1.N"')
    .default("latest"),
});

// Exactly one check field per entry: a CRD cannot express that structurally, so the API server
// enforces it with this CEL rule and zod with the refinement below.
const EXACTLY_ONE_CHECK_RULE = `[${CHECK_FIELDS.map((field) => `has(self.${field})`).join(", ")}].filter(x, x).size() == 1`;

export const policyCheckSchema = z
  .object({
    name: z.string().min(1).max(63),
    podSecurity: podSecuritySettingsSchema.optional(),
    allowedRegistries: z.array(z.string().min(1)).min(1).optional(),
    requireImageDigest: z.boolean().optional(),
    disallowLatestTag: z.boolean().optional(),
    requireResources: z.object({ requests: RESOURCE_NAMES.optional(), limits: RESOURCE_NAMES.optional() }).optional(),
    requiredLabels: z.array(z.string().min(1)).min(1).optional(),
    cel: z.string().min(1).optional(),
    message: z.string().optional().meta({ description: "Message shown when a `cel` check fails." }),
  })
  .superRefine((check, ctx) => {
    const present = CHECK_FIELDS.filter((field) => check[field] !== undefined);
    if (present.length !== 1) {
      ctx.addIssue({
        code: "custom",
        message: `check "${check.name}" must have exactly one of ${CHECK_FIELDS.join(", ")}; it has ${present.length === 0 ? "none" : present.join(", ")}`,
      });
    }
  })
  .meta({
    "x-kubernetes-validations": [
      { rule: EXACTLY_ONE_CHECK_RULE, message: `each check must have exactly one of ${CHECK_FIELDS.join(", ")}` },
    ],
  });
export type PolicyCheck = z.infer<typeof policyCheckSchema>;

export const approvalQuorumSchema = z.object({
  group: z.string().min(1).max(253),
  min: z.number().int().min(1).max(10),
});
export type ApprovalQuorum = z.infer<typeof approvalQuorumSchema>;

export const approvalSettingsSchema = z
  .object({
    mode: z.enum(["Always", "RiskBased", "Never"]).default("Always"),
    riskThreshold: z.number().int().min(0).max(100).optional().meta({
      description: "RiskBased: the earlier name of autoApproveBelow (a score at or above it needs approval).",
    }),
    autoApproveBelow: z.number().int().min(0).max(100).optional().meta({
      description:
        "RiskBased: a change scoring below this is admitted without a human; at or above it, approvers decide.",
    }),
    blockAbove: z.number().int().min(0).max(100).optional().meta({
      description:
        "RiskBased: a change scoring above this is denied (reason RiskTooHigh) and no approval admits it; unset: nothing is blocked for its risk.",
    }),
    minApprovals: z.number().int().min(1).max(10).default(1),
    approvers: z
      .object({ users: z.array(z.string()).default([]), groups: z.array(z.string()).default([]) })
      .default({ users: [], groups: [] }),
    quorum: z
      .array(approvalQuorumSchema)
      .max(10)
      .optional()
      .meta({
        description:
          "Approvals needed from members of particular groups, on top of minApprovals. One person fills at most one slot.",
        "x-kubernetes-validations": [
          { rule: "self.all(q, self.exists_one(r, r.group == q.group))", message: "each quorum group may appear once" },
        ],
      }),
    breakGlass: z
      .object({
        groups: z.array(z.string().min(1)).min(1),
        reviewWithin: durationSchema.default("24h"),
      })
      .optional()
      .meta({
        description:
          "Members of these groups may set the annotation aegis.valina.ai/break-glass to be admitted at once (checks still apply); AEGIS records it, alerts, and opens a request in phase ReviewRequired that approvers must review within reviewWithin.",
      }),
    allowSelfApproval: z.boolean().default(false),
    singleUse: z.boolean().default(false).meta({
      description:
        "An approval admits its change once: the first admission it allows uses it up (phase Used); applying the change again needs a new approval.",
    }),
    expiresAfter: durationSchema.default("24h"),
  })
  .superRefine((approval, ctx) => {
    if (
      approval.mode === "RiskBased" &&
      approval.riskThreshold === undefined &&
      approval.autoApproveBelow === undefined
    ) {
      ctx.addIssue({
        code: "custom",
        path: ["autoApproveBelow"],
        message: "autoApproveBelow (or its earlier name riskThreshold) is required when mode is RiskBased",
      });
    }
    if (approval.riskThreshold !== undefined && approval.autoApproveBelow !== undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["riskThreshold"],
        message: "riskThreshold is the earlier name of autoApproveBelow: set one of them",
      });
    }
    if (approval.blockAbove !== undefined && approval.mode !== "RiskBased") {
      ctx.addIssue({ code: "custom", path: ["blockAbove"], message: "blockAbove applies to mode RiskBased only" });
    }
    const autoBelow = approval.autoApproveBelow ?? approval.riskThreshold;
    if (approval.blockAbove !== undefined && autoBelow !== undefined && approval.blockAbove < autoBelow) {
      ctx.addIssue({
        code: "custom",
        path: ["blockAbove"],
        message: `blockAbove (${approval.blockAbove}) must not be below autoApproveBelow (${autoBelow})`,
      });
    }
    const groups = (approval.quorum ?? []).map((entry) => entry.group);
    const repeated = groups.find((group, index) => groups.indexOf(group) !== index);
    if (repeated !== undefined) {
      ctx.addIssue({ code: "custom", path: ["quorum"], message: `quorum group ${repeated} appears more than once` });
    }
  })
  .meta({
    "x-kubernetes-validations": [
      {
        rule: "!has(self.mode) || self.mode != 'RiskBased' || has(self.riskThreshold) || has(self.autoApproveBelow)",
        message: "autoApproveBelow (or its earlier name riskThreshold) is required when mode is RiskBased",
      },
      {
        rule: "!has(self.riskThreshold) || !has(self.autoApproveBelow)",
        message: "riskThreshold is the earlier name of autoApproveBelow: set one of them",
      },
      {
        rule: "!has(self.blockAbove) || (has(self.mode) && self.mode == 'RiskBased')",
        message: "blockAbove applies to mode RiskBased only",
      },
      {
        rule: "!has(self.blockAbove) || ((!has(self.autoApproveBelow) || self.blockAbove >= self.autoApproveBelow) && (!has(self.riskThreshold) || self.blockAbove >= self.riskThreshold))",
        message: "blockAbove must not be below autoApproveBelow",
      },
    ],
  });
export type ApprovalSettings = z.infer<typeof approvalSettingsSchema>;

// A window is a recurring schedule (cron, a duration, an IANA time zone) or an absolute range;
// the API server enforces the shape with these rules, zod with the refinement below, and policy
// compilation checks that the cron and the time zone are ones AEGIS can evaluate.
const FREEZE_SHAPE_RULE =
  "has(self.schedule) ? (has(self.duration) && has(self.timeZone) && !has(self.start) && !has(self.end)) : (has(self.start) && has(self.end) && !has(self.duration) && !has(self.timeZone))";
const FREEZE_SHAPE_MESSAGE =
  "a freeze window is either a schedule with a duration and a timeZone, or a start and an end (RFC 3339)";

export const freezeWindowSchema = z
  .object({
    name: z.string().min(1).max(63).optional(),
    schedule: z
      .string()
      .min(1)
      .max(100)
      .optional()
      .meta({ description: 'Cron expression of when each window starts, e.g. "0 18 * * 5" (Fridays 18:00).' }),
    duration: durationSchema.optional(),
    timeZone: z
      .string()
      .min(1)
      .max(64)
      .optional()
      .meta({ description: "IANA time zone of the schedule, e.g. Europe/Berlin." }),
    start: z.string().max(64).meta({ format: "date-time" }).optional(),
    end: z.string().max(64).meta({ format: "date-time" }).optional(),
  })
  .superRefine((window, ctx) => {
    const recurring = window.schedule !== undefined;
    const ok = recurring
      ? window.duration !== undefined && window.timeZone !== undefined && !window.start && !window.end
      : window.start !== undefined && window.end !== undefined && !window.duration && !window.timeZone;
    if (!ok) ctx.addIssue({ code: "custom", message: FREEZE_SHAPE_MESSAGE });
    if (window.start && window.end && !(Date.parse(window.start) < Date.parse(window.end))) {
      ctx.addIssue({ code: "custom", path: ["end"], message: "end must be a time after start" });
    }
  })
  .meta({
    "x-kubernetes-validations": [
      { rule: FREEZE_SHAPE_RULE, message: FREEZE_SHAPE_MESSAGE },
      {
        rule: "!has(self.start) || !has(self.end) || timestamp(self.start) < timestamp(self.end)",
        message: "end must be a time after start",
      },
    ],
  });
export type FreezeWindow = z.infer<typeof freezeWindowSchema>;

export const ACCESS_ACTIONS = ["exec", "attach", "portforward"] as const;
export type AccessAction = (typeof ACCESS_ACTIONS)[number];
const ACCESS_REQUIREMENT = z.enum(["Allow", "RequireApproval"]).default("Allow");
const MAX_ACCESS_TTL_MS = 24 * 3_600_000;

export const accessSettingsSchema = z
  .object({
    exec: ACCESS_REQUIREMENT,
    attach: ACCESS_REQUIREMENT,
    portforward: ACCESS_REQUIREMENT,
    ttl: z
      .string()
      .regex(/^([0-9]+h)?([0-9]+m)?([0-9]+s)?$/, "a duration in h, m and s, e.g. 30m")
      .refine((ttl) => ttl !== "" && durationToMs(ttl) > 0 && durationToMs(ttl) <= MAX_ACCESS_TTL_MS, {
        message: "ttl must be more than 0 and at most 24h",
      })
      .default("30m")
      .meta({
        description: "How long an approved access lets its user in, from the approval (at most 24h).",
        "x-kubernetes-validations": [
          {
            rule: "duration(self) > duration('0s') && duration(self) <= duration('24h')",
            message: "ttl must be more than 0 and at most 24h",
          },
        ],
      }),
  })
  .meta({
    description:
      "Actions on running pods in this policy's namespaces that need an approved AccessRequest (CONNECT admission of pods/exec, pods/attach, pods/portforward).",
  });
export type AccessSettings = z.infer<typeof accessSettingsSchema>;

const healingActionSchema = z.object({
  enabled: z.boolean().default(false),
  maxActionsPerHour: z.number().int().min(1).max(60).default(3),
});

export const selfHealingSchema = z.object({
  restartOnCrashLoop: healingActionSchema.extend({ minRestarts: z.number().int().min(1).default(5) }).optional(),
  rollbackOnFailedRollout: healingActionSchema.optional(),
  dryRun: z.boolean().default(false).meta({ description: "Record and announce actions without acting." }),
});

const ACCESS_NEEDS_APPROVAL = "access needs approval: its approvers decide the AccessRequests";

export const aegisPolicySpecSchema = z
  .object({
    enforcement: z.enum(["Enforce", "Audit"]).default("Enforce"),
    match: z.object({
      kinds: z.array(z.enum(GATED_KINDS)).min(1),
      namespaces: z.array(z.string().min(1)).optional(),
      namespaceSelector: labelSelectorSchema.optional(),
      objectSelector: labelSelectorSchema.optional(),
    }),
    exclude: z
      .object({
        namespaces: z.array(z.string()).default([]),
        users: z.array(z.string()).default([]),
        groups: z.array(z.string()).default([]),
      })
      .optional(),
    checks: z.array(policyCheckSchema).max(64).default([]),
    approval: approvalSettingsSchema.optional(),
    risk: z
      .object({
        shadow: z.boolean().default(true).meta({
          description:
            "RiskBased: record what the score would have auto-approved but ask a human anyway, so its agreement with people can be measured (aegis_risk_shadow_requests) before it decides. Default true: set false to let it decide.",
        }),
      })
      .default({ shadow: true }),
    access: accessSettingsSchema.optional(),
    freezeWindows: z.array(freezeWindowSchema).max(20).optional().meta({
      description:
        "While one is open, every change this policy gates (Enforce) is denied, approved or not; scaling, restarts and AEGIS's own approved rollbacks still pass.",
    }),
    selfHealing: selfHealingSchema.optional(),
    maxExceptionDuration: durationSchema.optional().meta({
      description:
        "Longest an AegisException may waive this policy's checks, from when it is requested (unset: 7d; 0s: no exception waives this policy). Its approvers are this policy's approval.approvers and quorum, whatever approval.mode says.",
    }),
    notifications: z
      .object({
        slack: z.object({ channel: z.string().min(1) }).optional(),
        github: z.object({ repository: z.string().regex(/^[^/\s]+\/[^/\s]+$/, "owner/name") }).optional(),
      })
      .optional(),
  })
  .superRefine((spec, ctx) => {
    if (spec.access && !spec.approval) {
      ctx.addIssue({ code: "custom", path: ["access"], message: ACCESS_NEEDS_APPROVAL });
    }
  })
  .meta({
    "x-kubernetes-validations": [{ rule: "!has(self.access) || has(self.approval)", message: ACCESS_NEEDS_APPROVAL }],
  });

/** How long an AegisException may waive a policy that sets no maxExceptionDuration. */
export const DEFAULT_MAX_EXCEPTION_DURATION = "7d";

export type AegisPolicySpec = z.infer<typeof aegisPolicySpecSchema>;

export const aegisPolicyStatusSchema = z.object({
  observedGeneration: z.number().int().min(0).optional(),
  conditions: z.array(conditionSchema).optional(),
});

export const aegisPolicySchema = z.object({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal("AegisPolicy"),
  metadata: objectMetaSchema,
  spec: aegisPolicySpecSchema,
  status: aegisPolicyStatusSchema.optional(),
});
export type AegisPolicy = z.infer<typeof aegisPolicySchema>;
