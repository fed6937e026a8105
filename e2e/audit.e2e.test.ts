// The background audit on the real kube-apiserver (DESIGN §audit): a Deployment that was running
// before its policy existed shows `fail` in its namespace's PolicyReport soon after the policy is
// created, `pass` once fixed, and leaves the report when deleted; a spec changed behind the gate
// (webhook configuration removed, AEGIS restarted to restore it) is `unapproved-change`; a
// PolicyReport another tool wrote is never touched; labelling a namespace into a policy's
// namespaceSelector reports what runs there at once; GET /api/reports shows a ServiceAccount only
// the namespace its RBAC lets it read.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { leading, removeWebhookConfiguration, startAegisProcess, type RunningAegisProcess } from "./helpers/aegis.js";
import { createTeamNamespace, eventually, kubectl, policyReady } from "./helpers/kube.js";

const suffix = randomBytes(3).toString("hex");
const ns = `audit-${suffix}`;
const driftNs = `audit-drift-${suffix}`;
const labelsNs = `audit-labels-${suffix}`;
const labelsPolicy = `${labelsNs}-strict`;
const checksPolicy = `${ns}-checks`;
const approvalPolicy = `${driftNs}-approval`;
const dev = { as: "dev", asGroups: ["developers"] };
const alice = { as: "alice", asGroups: ["sre-leads"] };
const START = { apiPort: 18776, webhookPort: 19477, env: { AEGIS_LOG_LEVEL: "info" } };

interface Result {
  policy: string;
  rule?: string;
  result?: string;
  source?: string;
  message?: string;
  resources?: { kind?: string; name?: string }[];
}
interface Report {
  metadata: { name: string; resourceVersion: string; ownerReferences?: { kind: string; name: string }[] };
  summary?: Record<string, number>;
  results?: Result[];
}

const deployment = (namespace: string, image: string): string =>
  JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image }] } },
    },
  });

async function report(namespace: string, name = "aegis-audit"): Promise<Report | undefined> {
  const got = await kubectl(["get", "policyreports.wgpolicyk8s.io", name, "-n", namespace, "-o", "json"], {
    allowFail: true,
  });
  return got.code === 0 ? (JSON.parse(got.stdout) as Report) : undefined;
}

/** The audit's result for Deployment web under `rule`, once it is `result`. */
async function resultFor(namespace: string, rule: string, result: string): Promise<Result> {
  return eventually(
    async () =>
      (await report(namespace))?.results?.find(
        (r) => r.rule === rule && r.result === result && r.resources?.[0]?.name === "web",
      ),
    `the audit to report Deployment web ${result} for ${rule} in ${namespace}`,
    { timeoutMs: 60_000, intervalMs: 250 },
  );
}

const cronJob = JSON.stringify({
  apiVersion: "batch/v1",
  kind: "CronJob",
  metadata: { name: "nightly", namespace: ns },
  spec: {
    schedule: "0 3 1 1 *",
    jobTemplate: {
      spec: {
        template: {
          spec: { restartPolicy: "Never", containers: [{ name: "job", image: "ghcr.io/acme/report:latest" }] },
        },
      },
    },
  },
});

const foreignReport = JSON.stringify({
  apiVersion: "wgpolicyk8s.io/v1alpha2",
  kind: "PolicyReport",
  metadata: { name: "kyverno-web", namespace: ns, labels: { "app.kubernetes.io/managed-by": "kyverno" } },
  summary: { pass: 0, fail: 1, warn: 0, error: 0, skip: 0 },
  results: [{ source: "kyverno", policy: "disallow-latest", rule: "validate-image-tag", result: "fail" }],
});

let aegis: RunningAegisProcess;
let foreignVersion = "";

beforeAll(async () => {
  for (const namespace of [ns, labelsNs]) await kubectl(["create", "namespace", namespace]);
  await createTeamNamespace(driftNs);
  await kubectl(["apply", "-f", "-"], { input: foreignReport });
  foreignVersion = (await report(ns, "kyverno-web"))?.metadata.resourceVersion ?? "";
  aegis = await startAegisProcess(START);
  await leading(aegis);
  // Running before any policy governs them: admitted by a gate with nothing to check.
  await kubectl(["apply", "-f", "-"], { input: deployment(ns, "ghcr.io/acme/web:latest") });
  await kubectl(["apply", "-f", "-"], { input: cronJob });
}, 300_000);

afterAll(async () => {
  await removeWebhookConfiguration();
  await aegis?.stop();
  await kubectl(["delete", "areq", "--all", "-n", driftNs], { allowFail: true });
  await kubectl(["delete", "apol", checksPolicy, approvalPolicy, labelsPolicy, "--ignore-not-found"], {
    allowFail: true,
  });
  for (const namespace of [ns, driftNs, labelsNs])
    await kubectl(["delete", "namespace", namespace, "--wait=false"], { allowFail: true });
});

describe("the background audit", () => {
  it("reports a Deployment that predates its policy as fail within seconds of the policy's creation", async () => {
    const created = Date.now();
    await kubectl(["apply", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "aegis.valina.ai/v1alpha1",
        kind: "AegisPolicy",
        metadata: { name: checksPolicy },
        spec: {
          enforcement: "Enforce",
          match: { kinds: ["Deployment", "CronJob"], namespaces: [ns] },
          checks: [{ name: "no-latest", disallowLatestTag: true }],
        },
      }),
    });
    const failed = await resultFor(ns, "no-latest", "fail");
    const seconds = (Date.now() - created) / 1000;
    console.log(`audit: fail reported ${seconds.toFixed(1)} s after the policy was created`);
    expect(seconds).toBeLessThan(30);
    expect(failed).toMatchObject({ source: "aegis", policy: checksPolicy });
    expect(failed.message).toMatch(/latest/);
    // Not only Deployments: the CronJob that predates the policy too.
    const cron = await eventually(
      async () => (await report(ns))?.results?.find((r) => r.resources?.[0]?.kind === "CronJob" && r.result === "fail"),
      "the audit to report CronJob nightly",
    );
    expect(cron.resources?.[0]?.name).toBe("nightly");
    const current = await report(ns);
    expect(current?.summary).toMatchObject({ fail: 2 });
    expect(current?.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: "AegisPolicy", name: checksPolicy }),
    ]);
    const printed = (await kubectl(["aegis", "report", "-n", ns])).stdout;
    expect(printed).toMatch(new RegExp(`${ns}\\s+Deployment/web\\s+${checksPolicy}\\s+no-latest\\s+FAIL`));
    expect(printed).not.toContain("kyverno");
    const metrics = await (await fetch(`${aegis.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`aegis_audit_results\\{result="fail",policy="${checksPolicy}"\\} 2`));
  });

  it("turns pass once the Deployment is fixed, and drops the report once nothing is left to judge", async () => {
    await kubectl(["set", "image", "deployment/web", "web=ghcr.io/acme/web:1.0", "-n", ns]);
    await resultFor(ns, "no-latest", "pass");
    await kubectl(["delete", "deployment", "web", "-n", ns, "--wait=true"]);
    await kubectl(["delete", "cronjob", "nightly", "-n", ns, "--wait=true"]);
    await eventually(
      async () => ((await report(ns)) === undefined ? true : undefined),
      `the audit to delete its report in ${ns} (nothing left to report)`,
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  });

  it("leaves a PolicyReport another tool wrote alone", async () => {
    const foreign = await report(ns, "kyverno-web");
    expect(foreign?.metadata.resourceVersion).toBe(foreignVersion);
    expect(foreign?.results).toEqual([expect.objectContaining({ source: "kyverno", result: "fail" })]);
  });

  it("reports a spec changed behind the gate as unapproved-change, and an approved one as pass", async () => {
    await kubectl(["apply", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "aegis.valina.ai/v1alpha1",
        kind: "AegisPolicy",
        metadata: { name: approvalPolicy },
        spec: {
          enforcement: "Enforce",
          match: { kinds: ["Deployment"], namespaces: [driftNs] },
          checks: [],
          approval: { mode: "Always", minApprovals: 1, approvers: { users: [], groups: ["sre-leads"] } },
        },
      }),
    });
    await policyReady(approvalPolicy);
    const apply = (image: string) =>
      kubectl(["apply", "-f", "-"], { ...dev, input: deployment(driftNs, image), allowFail: true });
    const denied = await eventually(async () => {
      const result = await apply("ghcr.io/acme/web:1.0");
      return result.code !== 0 && /ApprovalRequest/.test(result.stderr) ? result : undefined;
    }, "the gate to ask for approval");
    const name = /ApprovalRequest [^/]+\/(\S+) (is|was)/.exec(denied.stderr)?.[1] ?? "";
    expect((await kubectl(["aegis", "approve", name, "-n", driftNs], alice)).stdout).toMatch(/approved by alice/);
    await eventually(
      async () => ((await apply("ghcr.io/acme/web:1.0")).code === 0 ? true : undefined),
      "the approved change to be admitted",
    );
    await resultFor(driftNs, "unapproved-change", "pass");

    // Behind the gate: no webhook configuration while the image changes; a restart restores it.
    await removeWebhookConfiguration();
    await kubectl(["set", "image", "deployment/web", "web=ghcr.io/acme/web:6.6.6", "-n", driftNs]);
    await aegis.stop();
    aegis = await startAegisProcess(START);
    await leading(aegis);
    const drift = await resultFor(driftNs, "unapproved-change", "fail");
    expect(drift).toMatchObject({ source: "aegis", policy: approvalPolicy });
    expect(drift.message).toMatch(/no approval covers the spec that runs/);
    expect((await kubectl(["aegis", "report", "-n", driftNs])).stdout).toMatch(
      /Deployment\/web\s+\S+\s+unapproved-change\s+FAIL/,
    );
    await eventually(async () => {
      const metrics = await (await fetch(`${aegis.apiUrl}/metrics`)).text();
      return /aegis_audit_unapproved_changes [1-9]/.test(metrics) ? true : undefined;
    }, "aegis_audit_unapproved_changes to count the drifted Deployment");
    // The restored gate still guards: the same change through the front door needs an approval.
    const gated = await apply("ghcr.io/acme/web:6.6.7");
    expect(gated.code).not.toBe(0);
  }, 240_000);

  it("judges a namespace again when its labels bring it under a policy, and shows its results to its reader only", async () => {
    await kubectl(["apply", "-f", "-"], { input: deployment(labelsNs, "ghcr.io/acme/web:latest") });
    const tier = `strict-${suffix}`;
    await kubectl(["apply", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "aegis.valina.ai/v1alpha1",
        kind: "AegisPolicy",
        metadata: { name: labelsPolicy },
        spec: {
          enforcement: "Enforce",
          match: { kinds: ["Deployment"], namespaceSelector: { matchLabels: { "aegis-audit-tier": tier } } },
          checks: [{ name: "no-latest", disallowLatestTag: true }],
        },
      }),
    });
    await policyReady(labelsPolicy);
    // The policy's own rescan has nothing to judge in the unlabelled namespace.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(await report(labelsNs)).toBeUndefined();
    const labelled = Date.now();
    await kubectl(["label", "namespace", labelsNs, `aegis-audit-tier=${tier}`]);
    const failed = await resultFor(labelsNs, "no-latest", "fail");
    const seconds = (Date.now() - labelled) / 1000;
    console.log(`audit: fail reported ${seconds.toFixed(1)} s after the namespace was labelled`);
    // The full resync is 10 minutes away: only the namespace's change can have caused this.
    expect(seconds).toBeLessThan(30);
    expect(failed.policy).toBe(labelsPolicy);

    await kubectl(["create", "serviceaccount", "reader", "-n", labelsNs]);
    await kubectl([
      "create",
      "rolebinding",
      "reader",
      "--clusterrole=aegis-viewer",
      `--serviceaccount=${labelsNs}:reader`,
      "-n",
      labelsNs,
    ]);
    const token = (
      await kubectl(["create", "token", "reader", "-n", labelsNs, "--duration=10m", "--audience", "aegis"])
    ).stdout.trim();
    const read = await eventually(async () => {
      const response = await fetch(`${aegis.apiUrl}/api/reports`, { headers: { authorization: `Bearer ${token}` } });
      if (response.status !== 200) return undefined;
      const body = (await response.json()) as {
        items: { namespace: string; findings: { name: string; rule: string; result: string }[] }[];
      };
      return body.items.length > 0 ? body.items : undefined;
    }, "GET /api/reports to show the reader its namespace");
    expect(read.map((item) => item.namespace)).toEqual([labelsNs]);
    expect(read[0]?.findings).toEqual([expect.objectContaining({ name: "web", rule: "no-latest", result: "fail" })]);
    expect((await fetch(`${aegis.apiUrl}/api/reports`)).status).toBe(401);
  }, 120_000);
});
