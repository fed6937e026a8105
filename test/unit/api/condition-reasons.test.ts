// Condition types and reasons are CamelCase, as the Kubernetes API conventions ask
// (`^[A-Z]([A-Za-z0-9]*)$`): every constant, and every condition and Event the reconcilers write,
// run here over in-memory ports. The gate's decision reasons (evidence `data.reason`) follow the
// same rule.
import { describe, expect, it } from "vitest";
import {
  APPROVAL_PHASES,
  ConditionReason,
  ConditionType,
  type AegisPolicy,
  type ApprovalRequest,
  type Condition,
} from "../../../src/api/v1alpha1/index.js";
import { reconcileAegisPolicy } from "../../../src/reconcilers/aegis-policy.js";
import { reconcileApprovalRequest } from "../../../src/reconcilers/approval-request.js";
import { DecisionReason } from "../../../src/webhook/gate.js";
import { MemoryApprovalRequests, MemoryEvidence, MemoryPolicySource } from "../../fakes/memory-ports.js";

const CAMEL_CASE = /^[A-Z]([A-Za-z0-9]*)$/;
const NOW = new Date("2026-11-26T12:00:00Z");
const approval = { mode: "Always", minApprovals: 1, expiresAfter: "1h", approvers: { groups: ["sre-leads"] } };

function policy(name: string, checks: unknown[] = []): Record<string, unknown> {
  return {
    apiVersion: "aegis.valina.ai/v1alpha1",
    kind: "AegisPolicy",
    metadata: { name, uid: `uid-${name}`, generation: 1 },
    spec: { match: { kinds: ["Deployment"] }, checks, approval },
  };
}

function request(name: string, createdAt: Date, decisions: ApprovalRequest["spec"]["decisions"]): ApprovalRequest {
  return {
    apiVersion: "aegis.valina.ai/v1alpha1",
    kind: "ApprovalRequest",
    metadata: { name, namespace: "prod", uid: `uid-${name}`, creationTimestamp: createdAt.toISOString() },
    spec: {
      target: { apiVersion: "apps/v1", kind: "Deployment", namespace: "prod", name: "web" },
      changeHash: `sha256:${"ab".repeat(32)}`,
      policies: ["gate"],
      requester: { username: "dev", groups: ["developers"] },
      risk: { score: 0, factors: [] },
      summary: "new Deployment",
      reason: "",
      decisions,
    },
  };
}

describe("condition types and reasons", () => {
  it("every constant is CamelCase", () => {
    const values = [
      ...Object.values(ConditionType),
      ...Object.values(ConditionReason),
      ...Object.values(DecisionReason),
      ...APPROVAL_PHASES,
    ];
    for (const value of values) expect(value).toMatch(CAMEL_CASE);
  });

  it("the AegisPolicy reconciler writes Ready with the constants, valid or not", async () => {
    const policies = new MemoryPolicySource([policy("ok"), policy("broken", [{ name: "cel", cel: "object.(" }])]);
    const written: Condition[] = [];
    for (const name of ["ok", "broken"]) {
      await reconcileAegisPolicy(name, {
        policies,
        actions: {
          patchStatus: (_policy: AegisPolicy, status: NonNullable<AegisPolicy["status"]>) => {
            written.push(...(status.conditions ?? []));
            return Promise.resolve();
          },
        },
        evidence: new MemoryEvidence(),
        now: () => NOW,
        actor: "system:aegis",
      });
    }
    expect(written.map((condition) => `${condition.type}/${condition.reason}`)).toEqual([
      "Ready/Valid",
      "Ready/Invalid",
    ]);
    for (const condition of written) {
      expect(condition.type).toMatch(CAMEL_CASE);
      expect(condition.reason).toMatch(CAMEL_CASE);
    }
  });

  it("the ApprovalRequest reconciler writes Decided and Events with the constants in every phase", async () => {
    const vote = (decision: "Approve" | "Reject") => ({
      user: "alice",
      decision,
      comment: "",
      at: NOW.toISOString(),
      via: "kubectl" as const,
    });
    const fresh = new Date(NOW.getTime() - 60_000);
    const old = new Date(NOW.getTime() - 2 * 3_600_000);
    const approvals = new MemoryApprovalRequests([
      request("pending", fresh, []),
      request("approved", fresh, [vote("Approve")]),
      request("rejected", fresh, [vote("Reject")]),
      request("expired", old, []),
    ]);
    const conditions: Condition[] = [];
    const eventReasons: string[] = [];
    const deps = {
      approvals,
      policies: new MemoryPolicySource([policy("gate")]),
      actions: {
        patchStatus: (_request: ApprovalRequest, status: NonNullable<ApprovalRequest["status"]>) => {
          conditions.push(...(status.conditions ?? []));
          return Promise.resolve();
        },
        emitEvent: (_request: ApprovalRequest, event: { reason: string }) => {
          eventReasons.push(event.reason);
          return Promise.resolve();
        },
        delete: () => Promise.resolve(),
      },
      evidence: new MemoryEvidence(),
      now: () => NOW,
      extraApprovals: () => 0,
      retentionMs: 7 * 24 * 3_600_000,
      actor: "system:aegis",
    };
    for (const name of ["pending", "approved", "rejected", "expired"])
      await reconcileApprovalRequest(`prod/${name}`, deps);
    expect(conditions.map((condition) => `${condition.type}/${condition.reason}`)).toEqual([
      "Decided/Pending",
      "Decided/Approved",
      "Decided/Rejected",
      "Decided/Expired",
    ]);
    expect(eventReasons).toEqual(["Pending", "Approved", "Rejected", "Expired"]);
    const known = new Set<string>(Object.values(ConditionReason));
    for (const reason of [...conditions.map((condition) => condition.reason), ...eventReasons]) {
      expect(reason).toMatch(CAMEL_CASE);
      expect(known.has(reason)).toBe(true);
    }
  });
});
