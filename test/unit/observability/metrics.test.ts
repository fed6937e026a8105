import { describe, expect, it } from "vitest";
import { AegisMetrics } from "../../../src/observability/metrics.js";

describe("AegisMetrics", () => {
  it("reads requests by phase and evidence figures at scrape time", async () => {
    const metrics = new AegisMetrics({ defaultMetrics: false });
    let phases: Record<string, number> = { Pending: 2, Approved: 1 };
    metrics.observeApprovalPhases(() => phases);
    metrics.observeEvidence(() => ({
      spoolDepth: 7,
      lagSeconds: 3,
      appendedTotal: 40,
      databaseReachable: false,
      spoolWriteFailuresTotal: 2,
    }));
    const first = await metrics.registry.metrics();
    expect(first).toContain('aegis_approval_requests{phase="Pending"} 2');
    expect(first).toContain('aegis_approval_requests{phase="Approved"} 1');
    expect(first).toContain("aegis_evidence_spool_depth 7");
    expect(first).toContain("aegis_evidence_database_up 0");
    expect(first).toContain("# TYPE aegis_evidence_spool_write_failures_total counter");
    expect(first).toContain("aegis_evidence_spool_write_failures_total 2");

    phases = { Approved: 3 };
    const second = await metrics.registry.metrics();
    expect(second).toContain('aegis_approval_requests{phase="Approved"} 3');
    expect(second).not.toContain('phase="Pending"');
  });
});

describe("checkpoint metrics", () => {
  it("reads publish failures per destination and the newest checkpoint size at scrape time", async () => {
    const metrics = new AegisMetrics({ defaultMetrics: false });
    const failures = new Map([["witness http://127.0.0.1:1", 2]]);
    let newestSize = 10;
    metrics.observeCheckpoints(() => ({ publishFailures: failures, newestSize }));
    const first = await metrics.registry.metrics();
    expect(first).toContain(
      'aegis_evidence_checkpoint_publish_failures_total{destination="witness http://127.0.0.1:1"} 2',
    );
    expect(first).toContain("aegis_evidence_checkpoint_size 10");
    failures.set("witness http://127.0.0.1:1", 3);
    newestSize = 12;
    const second = await metrics.registry.metrics();
    expect(second).toContain(
      'aegis_evidence_checkpoint_publish_failures_total{destination="witness http://127.0.0.1:1"} 3',
    );
    expect(second).toContain("aegis_evidence_checkpoint_size 12");
  });
});
