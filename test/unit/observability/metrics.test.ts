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

describe("webhook outcomes", () => {
  it("counts a handler failure as decision=error, apart from allowed and denied, and times each", async () => {
    const metrics = new AegisMetrics({ defaultMetrics: false });
    metrics.observeAdmission({ kind: "Deployment", allowed: true, durationMs: 2 });
    metrics.observeAdmission({ kind: "Deployment", allowed: false, durationMs: 3 });
    metrics.observeAdmission({ kind: "Deployment", allowed: false, error: true, durationMs: 400 });
    metrics.observeAdmission({ kind: "Pod", allowed: false, error: true, durationMs: 1 });
    const text = await metrics.registry.metrics();
    expect(text).toContain('aegis_admissions_total{kind="Deployment",decision="allowed"} 1');
    expect(text).toContain('aegis_admissions_total{kind="Deployment",decision="denied"} 1');
    expect(text).toContain('aegis_admissions_total{kind="Deployment",decision="error"} 1');
    expect(text).toContain('aegis_admissions_total{kind="Pod",decision="error"} 1');
    expect(text).toContain('aegis_admission_duration_seconds_count{kind="Deployment"} 3');
    // 400 ms lands above the 0.25 s bucket: the p99 alert reads this histogram.
    expect(text).toContain('aegis_admission_duration_seconds_bucket{le="0.25",kind="Deployment"} 2');
    expect(text).toContain('aegis_admission_duration_seconds_bucket{le="1",kind="Deployment"} 3');
  });
});

describe("leadership metrics", () => {
  it("show 0 and no changes before any term, then follow the elector's callbacks", async () => {
    const metrics = new AegisMetrics({ defaultMetrics: false });
    const before = await metrics.registry.metrics();
    expect(before).toContain("aegis_leader 0");
    expect(before).toContain('aegis_leader_changes_total{transition="started"} 0');
    expect(before).toContain('aegis_leader_changes_total{transition="stopped"} 0');

    metrics.leadershipStarted();
    const leading = await metrics.registry.metrics();
    expect(leading).toContain("aegis_leader 1");
    expect(leading).toContain('aegis_leader_changes_total{transition="started"} 1');

    metrics.leadershipStopped();
    metrics.leadershipStarted();
    metrics.leadershipStopped();
    const after = await metrics.registry.metrics();
    expect(after).toContain("aegis_leader 0");
    expect(after).toContain('aegis_leader_changes_total{transition="started"} 2');
    expect(after).toContain('aegis_leader_changes_total{transition="stopped"} 2');
  });
});

describe("self-healing breaker metric", () => {
  it("reads the number of open breakers at scrape time, 0 without a source", async () => {
    const metrics = new AegisMetrics({ defaultMetrics: false });
    expect(await metrics.registry.metrics()).toContain("aegis_selfhealing_breaker_open 0");
    let open = 2;
    metrics.observeSelfHealingBreakers(() => open);
    expect(await metrics.registry.metrics()).toContain("aegis_selfhealing_breaker_open 2");
    open = 0;
    expect(await metrics.registry.metrics()).toContain("aegis_selfhealing_breaker_open 0");
  });
});
