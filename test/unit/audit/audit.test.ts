import { describe, expect, it } from "vitest";
import {
  auditObject,
  buildPolicyReports,
  reportChanges,
  UNAPPROVED_CHANGE_RULE,
  withApprovalFindings,
  type AuditedObject,
} from "../../../src/audit/index.js";
import { DESIGN_POLICY_SPEC, compliantContainer, deployment, policy, policyWithChecks } from "../policy/fixtures.js";

const labels = { "kubernetes.io/metadata.name": "prod", env: "prod" };

function object(raw: Record<string, unknown>, uid = "uid-web"): AuditedObject {
  const { name } = raw["metadata"] as { name: string };
  return { apiVersion: "apps/v1", kind: "Deployment", namespace: "prod", name, uid, object: raw };
}

const latestContainers = [{ ...compliantContainer(), image: "ghcr.io/acme/web:latest" }];
const latest = deployment({ containers: latestContainers });
const noLatest = policyWithChecks([{ name: "no-latest", disallowLatestTag: true }]);

describe("auditObject", () => {
  it("passes each check a compliant object meets, and names nothing else", () => {
    const audit = auditObject([noLatest], object(deployment()), labels);
    expect(audit.findings).toEqual([
      expect.objectContaining({ policy: "prod-gate", rule: "no-latest", result: "pass" }),
    ]);
    expect(audit.approvalPolicies).toEqual([]);
  });

  it("fails a violated check of an Enforce policy and warns for an Audit one, with the check's message", () => {
    const [enforced] = auditObject([noLatest], object(latest), labels).findings;
    expect(enforced).toMatchObject({
      rule: "no-latest",
      result: "fail",
      resource: { kind: "Deployment", uid: "uid-web" },
    });
    expect(enforced?.message).toMatch(/latest/);
    const audited = policyWithChecks([{ name: "no-latest", disallowLatestTag: true }], "Audit");
    expect(auditObject([audited], object(latest), labels).findings[0]?.result).toBe("warn");
  });

  it("judges nothing a policy does not match", () => {
    const other = policy(
      {
        match: { kinds: ["Deployment"], namespaces: ["staging"] },
        checks: [{ name: "no-latest", disallowLatestTag: true }],
      },
      "staging-gate",
    );
    expect(auditObject([other], object(latest), labels).findings).toEqual([]);
  });

  it("asks about approval only for policies that require it, and fails unapproved-change without one", () => {
    const gate = policy(DESIGN_POLICY_SPEC);
    const audit = auditObject([gate, noLatest], object(deployment()), labels);
    expect(audit.approvalPolicies).toEqual([gate.name]);
    const unapproved = withApprovalFindings(audit, false).filter((f) => f.rule === UNAPPROVED_CHANGE_RULE);
    expect(unapproved).toEqual([expect.objectContaining({ policy: gate.name, result: "fail" })]);
    const approved = withApprovalFindings(audit, true).filter((f) => f.rule === UNAPPROVED_CHANGE_RULE);
    expect(approved).toEqual([expect.objectContaining({ result: "pass" })]);
  });
});

describe("buildPolicyReports", () => {
  const now = new Date("2026-12-02T10:00:00Z");
  const findings = auditObject([noLatest], object(latest), labels).findings;

  it("writes one labelled report with a summary, source aegis, and its policies as owners", () => {
    const [report, ...rest] = buildPolicyReports("prod", findings, {
      now,
      previous: [],
      owners: [{ name: "prod-gate", uid: "p-uid" }],
    });
    expect(rest).toEqual([]);
    expect(report).toMatchObject({
      apiVersion: "wgpolicyk8s.io/v1alpha2",
      kind: "PolicyReport",
      metadata: {
        name: "aegis-audit",
        namespace: "prod",
        labels: { "app.kubernetes.io/managed-by": "aegis" },
        ownerReferences: [
          { apiVersion: "aegis.valina.ai/v1alpha1", kind: "AegisPolicy", name: "prod-gate", uid: "p-uid" },
        ],
      },
      summary: { pass: 0, fail: 1, warn: 0, error: 0, skip: 0 },
      results: [
        {
          source: "aegis",
          policy: "prod-gate",
          rule: "no-latest",
          result: "fail",
          severity: "high",
          timestamp: { seconds: now.getTime() / 1000, nanos: 0 },
        },
      ],
    });
  });

  it("keeps unchanged results' timestamps, so a second scan writes nothing", () => {
    const first = buildPolicyReports("prod", findings, { now, previous: [] });
    const later = new Date(now.getTime() + 60_000);
    const second = buildPolicyReports("prod", findings, { now: later, previous: first });
    expect(reportChanges(first, second)).toEqual({ upsert: [], remove: [] });
    // A changed result is a new result, stamped now.
    const fixed = auditObject([noLatest], object(deployment()), labels).findings;
    const third = buildPolicyReports("prod", fixed, { now: later, previous: first });
    expect(reportChanges(first, third).upsert).toHaveLength(1);
    expect(third[0]?.results?.[0]?.timestamp?.seconds).toBe(later.getTime() / 1000);
  });

  it("splits results over reports that each stay under the size limit, and removes reports no longer needed", () => {
    const many = Array.from(
      { length: 50 },
      (_, i) => auditObject([noLatest], object(deployment({ name: `web-${i}` }), `uid-${i}`), labels).findings,
    ).flat();
    const reports = buildPolicyReports("prod", many, { now, previous: [], maxBytes: 4_000 });
    expect(reports.length).toBeGreaterThan(1);
    for (const report of reports) expect(JSON.stringify(report.results).length).toBeLessThanOrEqual(4_000 + 50);
    expect(reports.flatMap((r) => r.results ?? [])).toHaveLength(50);
    for (const report of reports) expect(report.metadata.name).toMatch(/^aegis-audit(-\d+)?$/);
    expect(reportChanges(reports, buildPolicyReports("prod", [], { now, previous: reports }))).toEqual({
      upsert: [],
      remove: reports.map((r) => r.metadata.name),
    });
  });

  it("rewrites only the report of the object whose result changed, and keeps each object's results in one report", () => {
    const checks = policyWithChecks([
      { name: "no-latest", disallowLatestTag: true },
      { name: "digest", requireImageDigest: true },
    ]);
    const audits = (fixedIndex?: number) =>
      Array.from(
        { length: 200 },
        (_, i) =>
          auditObject(
            [checks],
            object(
              deployment({
                name: `web-${i}`,
                containers: i === fixedIndex ? [compliantContainer()] : latestContainers,
              }),
              `uid-${i}`,
            ),
            labels,
          ).findings,
      ).flat();
    const first = buildPolicyReports("prod", audits(), { now, previous: [], maxBytes: 20_000 });
    expect(first.length).toBeGreaterThan(4);
    for (const report of first) {
      const uids = new Set((report.results ?? []).map((r) => r.resources?.[0]?.uid));
      for (const uid of uids)
        expect(first.filter((other) => other.results?.some((r) => r.resources?.[0]?.uid === uid))).toEqual([report]);
    }
    const later = new Date(now.getTime() + 60_000);
    const second = buildPolicyReports("prod", audits(17), { now: later, previous: first, maxBytes: 20_000 });
    expect(second.map((r) => r.metadata.name)).toEqual(first.map((r) => r.metadata.name));
    const { upsert, remove } = reportChanges(first, second);
    expect(remove).toEqual([]);
    expect(upsert).toHaveLength(1);
    expect(upsert[0]?.results?.some((r) => r.resources?.[0]?.uid === "uid-17")).toBe(true);
  });

  it("doubles the number of reports as results grow and halves it once half as many would be half full", () => {
    const many = (count: number) =>
      Array.from(
        { length: count },
        (_, i) => auditObject([noLatest], object(deployment({ name: `web-${i}` }), `uid-${i}`), labels).findings,
      ).flat();
    const small = buildPolicyReports("prod", many(10), { now, previous: [], maxBytes: 8_000 });
    const grown = buildPolicyReports("prod", many(400), { now, previous: small, maxBytes: 8_000 });
    const count = (reports: readonly { metadata: { name: string } }[]) =>
      Math.max(...reports.map((r) => Number(/-(\d+)$/.exec(r.metadata.name)?.[1] ?? 1)));
    expect(grown.length).toBeGreaterThan(small.length);
    expect(Math.log2(count(grown)) % 1).toBe(0);
    // Hysteresis: the same ten objects keep two reports; two objects fit half of one.
    const shrunk = buildPolicyReports("prod", many(10), { now, previous: grown, maxBytes: 8_000 });
    expect(shrunk.length).toBeLessThan(grown.length);
    expect(
      buildPolicyReports("prod", many(2), { now, previous: grown, maxBytes: 8_000 }).map((r) => r.metadata.name),
    ).toEqual(["aegis-audit"]);
  });
});
