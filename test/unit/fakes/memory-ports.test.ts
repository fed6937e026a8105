// The in-memory ports keep the contracts of the adapters they stand in for.
import { describe, expect, it } from "vitest";
import type { ApprovalRequest } from "../../../src/api/v1alpha1/index.js";
import { verifyChain } from "../../../src/evidence/chain/verify-chain.js";
import { MemoryApprovalRequests, MemoryEvidence, MemoryPolicySource } from "../../fakes/memory-ports.js";

function request(name: string): ApprovalRequest {
  return {
    apiVersion: "aegis.valina.ai/v1alpha1",
    kind: "ApprovalRequest",
    metadata: { name, namespace: "prod" },
    spec: {
      target: { apiVersion: "apps/v1", kind: "Deployment", namespace: "prod", name: "web" },
      changeHash: `sha256:${"ab".repeat(32)}`,
      policies: ["prod-gate"],
      requester: { username: "dev", groups: [] },
      risk: { score: 0, factors: [] },
      summary: "",
      reason: "",
      decisions: [],
    },
  };
}

const match = { kinds: ["Deployment"] };

describe("in-memory ports", () => {
  it("MemoryPolicySource leaves a policy that does not compile out of compiled() and lists its error", () => {
    const policies = new MemoryPolicySource([
      { apiVersion: "aegis.valina.ai/v1alpha1", kind: "AegisPolicy", metadata: { name: "ok" }, spec: { match } },
      {
        apiVersion: "aegis.valina.ai/v1alpha1",
        kind: "AegisPolicy",
        metadata: { name: "broken" },
        spec: { match, checks: [{ name: "cel", cel: "object.spec.(" }] },
      },
    ]);
    expect(policies.compiled()).toHaveLength(1);
    expect(policies.list().find((entry) => entry.policy.metadata.name === "broken")?.compileError).toBeTruthy();
  });

  it("MemoryApprovalRequests creates once by name and rejects a decision on a stale resourceVersion", async () => {
    const requests = new MemoryApprovalRequests();
    expect(await requests.create(request("a"))).toBe("created");
    expect(await requests.create(request("a"))).toBe("exists");
    expect(requests.created).toBe(1);
    const stale = requests.get("a", "prod");
    if (!stale) throw new Error("not stored");
    const decision = {
      user: "alice",
      decision: "Approve",
      comment: "",
      at: "2026-01-01T00:00:00Z",
      via: "api",
    } as const;
    await requests.appendDecision(stale, decision);
    await expect(requests.appendDecision(stale, decision)).rejects.toThrow(/409/);
    expect(requests.get("a", "prod")?.spec.decisions).toHaveLength(1);
  });

  it("MemoryEvidence is idempotent by id, rejects non-JSON data and keeps a valid hash chain", async () => {
    const evidence = new MemoryEvidence();
    const event = { type: "policy.change", subject: "AegisPolicy/p", actor: "system:aegis", data: { n: 1 } } as const;
    await evidence.record({ ...event, id: "same" });
    await evidence.record({ ...event, id: "same" });
    await evidence.record(event);
    await expect(evidence.record({ ...event, data: { n: Number.NaN } })).rejects.toThrow();
    expect(evidence.recorded).toBe(2);
    expect(verifyChain(evidence.records).ok).toBe(true);
    expect((await evidence.latest(1)).map((record) => record.seq)).toEqual([1]);
  });
});
