// The AegisException reconciler (status, evidence and Events per transition, a wake-up at
// expiresAt) and how long the approval reconciler keeps an approved exception's request.
import { describe, expect, it } from "vitest";
import {
  aegisExceptionSchema,
  aegisPolicySchema,
  type AegisException,
  type AegisExceptionStatus,
  type ApprovalRequest,
} from "../../../src/api/v1alpha1/index.js";
import { exceptionHash, exceptionRequestName } from "../../../src/exceptions/index.js";
import { reconcileAegisException } from "../../../src/reconcilers/aegis-exception.js";
import { reconcileApprovalRequest } from "../../../src/reconcilers/approval-request.js";
import { MemoryEvidence, MemoryObjectStore } from "../../fakes/memory-ports.js";

const T0 = new Date("2026-11-26T12:00:00Z");
const HOUR = 3_600_000;
const policy = aegisPolicySchema.parse({
  apiVersion: "aegis.valina.ai/v1alpha1",
  kind: "AegisPolicy",
  metadata: { name: "baseline" },
  spec: {
    match: { kinds: ["Deployment"] },
    checks: [{ name: "no-latest", disallowLatestTag: true }],
    approval: { mode: "Never", approvers: { groups: ["security"] } },
  },
});
const policies = { get: (name: string) => (name === "baseline" ? policy : undefined) };

const exception: AegisException = aegisExceptionSchema.parse({
  apiVersion: "aegis.valina.ai/v1alpha1",
  kind: "AegisException",
  metadata: { name: "vendor", namespace: "prod", uid: "u-1", generation: 1 },
  spec: {
    target: { kind: "Deployment", name: "vendor" },
    policies: ["baseline"],
    owner: "team-vendor",
    reason: "vendor image",
    expiresAt: new Date(T0.getTime() + 24 * HOUR).toISOString(),
  },
});

function request(decided: boolean): ApprovalRequest {
  return {
    apiVersion: "aegis.valina.ai/v1alpha1",
    kind: "ApprovalRequest",
    metadata: {
      name: exceptionRequestName(exception),
      namespace: "prod",
      creationTimestamp: T0.toISOString(),
      uid: "r-1",
    },
    spec: {
      target: { apiVersion: "aegis.valina.ai/v1alpha1", kind: "AegisException", namespace: "prod", name: "vendor" },
      changeHash: exceptionHash(exception),
      policies: ["baseline"],
      requester: { username: "dev", groups: [] },
      risk: { score: 0, factors: [] },
      summary: "",
      reason: "",
      decisions: decided
        ? [
            {
              user: "sam",
              groups: ["security"],
              decision: "Approve",
              comment: "",
              at: T0.toISOString(),
              via: "kubectl",
            },
          ]
        : [],
    },
    status: decided ? { phase: "Approved", decidedAt: T0.toISOString() } : undefined,
  };
}

function setup(decided: boolean) {
  let now = T0;
  const exceptions = new MemoryObjectStore<AegisException>([exception]);
  const approvals = new MemoryObjectStore<ApprovalRequest>([request(decided)]);
  const evidence = new MemoryEvidence();
  const events: string[] = [];
  const deleted: string[] = [];
  const deps = {
    exceptions,
    approvals,
    policies,
    evidence,
    now: () => now,
    extraApprovals: () => 0,
    actor: "aegis",
    actions: {
      patchStatus: (target: AegisException, status: AegisExceptionStatus) => {
        exceptions.put({ ...target, status });
        return Promise.resolve();
      },
      emitEvent: (_target: AegisException, event: { type: string; reason: string }) => {
        events.push(`${event.type}:${event.reason}`);
        return Promise.resolve();
      },
    },
  };
  const approvalDeps = {
    approvals,
    policies,
    evidence,
    now: () => now,
    extraApprovals: () => 0,
    retentionMs: 7 * 24 * HOUR,
    actor: "aegis",
    exceptions,
    actions: {
      patchStatus: (target: ApprovalRequest, status: ApprovalRequest["status"]) => {
        approvals.put({ ...target, ...(status ? { status } : {}) });
        return Promise.resolve();
      },
      emitEvent: () => Promise.resolve(),
      delete: (target: ApprovalRequest) => {
        deleted.push(target.metadata.name ?? "");
        approvals.delete(target);
        return Promise.resolve();
      },
    },
  };
  return { deps, approvalDeps, exceptions, evidence, events, deleted, setNow: (at: Date) => (now = at) };
}

describe("reconcileAegisException", () => {
  it("says Pending without evidence while its request waits, and wakes at expiresAt", async () => {
    const { deps, exceptions, evidence, events } = setup(false);
    const result = await reconcileAegisException("prod/vendor", deps);
    expect(exceptions.get("vendor", "prod")?.status).toMatchObject({
      phase: "Pending",
      approvalRequest: exceptionRequestName(exception),
      conditions: [{ type: "Active", status: "False", reason: "ExceptionPending" }],
    });
    expect(evidence.records).toEqual([]);
    expect(events).toEqual(["Normal:ExceptionPending"]);
    expect(result.requeueAfterMs).toBe(24 * HOUR + 50);
  });

  it("records Active once with its approvers, then Expired at expiresAt, and stops waking", async () => {
    const { deps, exceptions, evidence, events, setNow } = setup(true);
    await reconcileAegisException("prod/vendor", deps);
    await reconcileAegisException("prod/vendor", deps);
    expect(exceptions.get("vendor", "prod")?.status).toMatchObject({ phase: "Active", approvedBy: ["sam"] });
    expect(evidence.records.map((r) => [r.type, r.data["to"]])).toEqual([["exception.transition", "Active"]]);
    expect(evidence.records[0]?.data).toMatchObject({ approvers: ["sam"], exceptionHash: exceptionHash(exception) });
    setNow(new Date(T0.getTime() + 24 * HOUR));
    const result = await reconcileAegisException("prod/vendor", deps);
    expect(exceptions.get("vendor", "prod")?.status?.phase).toBe("Expired");
    expect(evidence.records.map((r) => r.data["to"])).toEqual(["Active", "Expired"]);
    expect(events).toEqual(["Normal:ExceptionApproved", "Warning:ExceptionExpired"]);
    expect(result).toEqual({});
  });
});

describe("an approved exception's ApprovalRequest", () => {
  it("is kept while the exception may be in force, and cleaned up its retention after expiresAt", async () => {
    const { approvalDeps, deleted, setNow } = setup(true);
    setNow(new Date(T0.getTime() + 7 * 24 * HOUR + 1));
    // Approved 7 days ago, but the exception runs until T0 + 24h: kept for 7 days after that.
    await reconcileApprovalRequest(`prod/${exceptionRequestName(exception)}`, approvalDeps);
    expect(deleted).toEqual([]);
    setNow(new Date(T0.getTime() + 8 * 24 * HOUR + 1));
    await reconcileApprovalRequest(`prod/${exceptionRequestName(exception)}`, approvalDeps);
    expect(deleted).toEqual([exceptionRequestName(exception)]);
  });
});
