import { describe, expect, it } from "vitest";
import type { PolicyReport } from "../../../src/api/wgpolicyk8s/policy-report.js";
import type { PolicyReportStore } from "../../../src/ports/reports.js";
import { reconcileAudit, type AuditDependencies } from "../../../src/reconcilers/audit.js";
import { MemoryPolicySource } from "../../fakes/memory-ports.js";
import { parsePolicy } from "../policy/fixtures.js";
import { benchPolicies, checkoutDeployment, namespaceLabels, NEW_IMAGE } from "../../../bench/lib/fixtures.js";

class Reports implements PolicyReportStore {
  readonly stored = new Map<string, PolicyReport>();
  writes = 0;
  list(): Promise<PolicyReport[]> {
    return Promise.resolve([...this.stored.values()]);
  }
  put(report: PolicyReport): Promise<void> {
    this.writes += 1;
    this.stored.set(report.metadata.name, structuredClone(report));
    return Promise.resolve();
  }
  remove(_namespace: string, name: string): Promise<void> {
    this.stored.delete(name);
    return Promise.resolve();
  }
}

function deps(objects: unknown[], policies: unknown[], approved = new Set<string>()): AuditDependencies {
  return {
    workloads: {
      deployment: () => undefined,
      deployments: () => objects,
      otherWorkloads: () => [],
      replicaSets: () => [],
      pods: () => [],
    },
    policies: new MemoryPolicySource(policies),
    namespaceLabels,
    approved: { approvedAmong: (_t, hashes) => Promise.resolve(new Set(hashes.filter((h) => approved.has(h)))) },
    reports: new Reports(),
    now: () => new Date("2026-12-02T10:00:00Z"),
    approvedSeen: new Set(),
    audits: new WeakMap(),
    hashes: new WeakMap(),
  };
}

const deployments = (count: number): Record<string, unknown>[] =>
  Array.from({ length: count }, (_, index) => {
    const object = checkoutDeployment({ image: NEW_IMAGE });
    return {
      ...object,
      metadata: { ...(object["metadata"] as object), name: `checkout-${index}`, uid: `uid-${index}` },
    };
  });

describe("reconcileAudit", () => {
  it("lets the event loop run while it judges a large namespace (admissions share it)", async () => {
    const audit = deps(deployments(3_000), benchPolicies());
    let ranDuringScan = false;
    let done = false;
    const probe = setInterval(() => {
      if (!done) ranDuringScan = true;
    }, 1);
    await reconcileAudit("payments", audit);
    done = true;
    clearInterval(probe);
    expect(ranDuringScan).toBe(true);
    expect((await audit.reports.list("payments")).length).toBeGreaterThan(0);
  });

  it("writes the namespace's results once, and nothing when nothing changed", async () => {
    const objects = deployments(3);
    const audit = deps(objects, [
      parsePolicy({ match: { kinds: ["Deployment"] }, checks: [{ name: "no-latest", disallowLatestTag: true }] }),
    ]);
    const reports = audit.reports as Reports;
    await reconcileAudit("payments", audit);
    const [first] = [...reports.stored.values()];
    expect(first?.summary).toMatchObject({ pass: 3, fail: 0 });
    expect(reports.writes).toBe(1);
    await reconcileAudit("payments", audit);
    expect(reports.writes).toBe(1);
    expect(reports.stored.get("aegis-audit")).toEqual(first);
  });
});
