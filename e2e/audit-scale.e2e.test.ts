// The background audit at scale on the real kube-apiserver (issue #19's scale figure): N
// Deployments (replicas: 0, so the node runs nothing; the controller manager still makes a
// ReplicaSet for each) exist before AEGIS starts; from the moment AEGIS leads, how long until its
// PolicyReports hold every one's results, and what the process's RSS does meanwhile (VmRSS from
// /proc, sampled every 100 ms). `npm test` uses 300 Deployments; `npm run bench:audit-cluster`
// sets AEGIS_AUDIT_SCALE_OBJECTS=10000 (a few minutes more: a measurement, not a CI check).
// Prints one {"bench":"audit-cluster",...} JSON line.
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { AppsV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PooledKubeConfig } from "../src/adapters/kube/kube-config.js";
import { leading, removeWebhookConfiguration, startAegisProcess, type RunningAegisProcess } from "./helpers/aegis.js";
import { eventually, kubeconfigPath, kubectl } from "./helpers/kube.js";

const OBJECTS = Number(process.env["AEGIS_AUDIT_SCALE_OBJECTS"] ?? 300);
if (!Number.isInteger(OBJECTS) || OBJECTS < 1)
  throw new Error(
    `AEGIS_AUDIT_SCALE_OBJECTS must be a positive integer, not ${process.env["AEGIS_AUDIT_SCALE_OBJECTS"]}`,
  );
const CONCURRENCY = 16;
const ns = `audit-scale-${randomBytes(3).toString("hex")}`;
const policy = `${ns}-checks`;
const CHECKS = 3;
const START = { apiPort: 18777, webhookPort: 19478, env: { AEGIS_LOG_LEVEL: "info" } };
const MiB = 1024 * 1024;

interface Report {
  metadata: { name: string };
  summary?: Record<string, number>;
}

const manifest = (index: number): Record<string, unknown> => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: `web-${index}`, namespace: ns, labels: { app: "web" } },
  spec: {
    replicas: 0,
    selector: { matchLabels: { app: "web", index: String(index) } },
    template: {
      metadata: { labels: { app: "web", index: String(index) } },
      spec: {
        containers: [
          {
            name: "web",
            // A third fail no-latest; all fail the digest check; resources pass.
            image: index % 3 === 0 ? "ghcr.io/acme/web:latest" : `ghcr.io/acme/web:1.${index % 50}`,
            resources: { limits: { cpu: "100m", memory: "64Mi" }, requests: { cpu: "50m", memory: "32Mi" } },
          },
        ],
      },
    },
  },
});

async function createDeployments(count: number): Promise<number> {
  const kubeConfig = new PooledKubeConfig();
  kubeConfig.loadFromFile(kubeconfigPath());
  const apps = kubeConfig.makeApiClient(AppsV1Api);
  const started = Date.now();
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    for (let index = next++; index < count; index = next++) {
      for (let attempt = 1; ; attempt++) {
        try {
          await apps.createNamespacedDeployment({ namespace: ns, body: manifest(index) });
          break;
        } catch (error) {
          const code = (error as { code?: number }).code;
          if (code === 409) break;
          if (attempt >= 5 || (code !== undefined && code !== 429 && code < 500)) throw error;
          await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
        }
      }
      done += 1;
      if (done % 1000 === 0)
        console.log(`audit-scale: ${done}/${count} Deployments created (${(Date.now() - started) / 1000} s)`);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return Date.now() - started;
}

async function vmRssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(kib) * 1024;
}

async function reports(): Promise<Report[]> {
  const { stdout } = await kubectl([
    "get",
    "policyreports.wgpolicyk8s.io",
    "-n",
    ns,
    "-l",
    "app.kubernetes.io/managed-by=aegis",
    "-o",
    "json",
  ]);
  return (JSON.parse(stdout) as { items: Report[] }).items;
}

const judged = (items: readonly Report[]): number =>
  items.reduce((n, report) => n + Object.values(report.summary ?? {}).reduce((a, b) => a + b, 0), 0);

let aegis: RunningAegisProcess | undefined;
let createMs = 0;

beforeAll(async () => {
  // No gate while the Deployments are made: they predate AEGIS, as a cluster's workloads do.
  await removeWebhookConfiguration();
  await kubectl(["create", "namespace", ns]);
  await kubectl(["apply", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "aegis.valina.ai/v1alpha1",
      kind: "AegisPolicy",
      metadata: { name: policy },
      spec: {
        enforcement: "Audit",
        match: { kinds: ["Deployment"], namespaces: [ns] },
        checks: [
          { name: "no-latest", disallowLatestTag: true },
          { name: "digest", requireImageDigest: true },
          { name: "resources", requireResources: { requests: ["cpu", "memory"], limits: ["memory"] } },
        ],
      },
    }),
  });
  createMs = await createDeployments(OBJECTS);
}, 900_000);

afterAll(async () => {
  await aegis?.stop();
  await removeWebhookConfiguration();
  await kubectl(["delete", "apol", policy, "--ignore-not-found"], { allowFail: true });
  await kubectl(["delete", "namespace", ns, "--wait=false"], { allowFail: true });
});

describe("the background audit at scale", () => {
  it(`reports ${OBJECTS} Deployments that predate AEGIS, and measures the time and memory it takes`, async () => {
    aegis = await startAegisProcess(START);
    const pid = aegis.pid;
    await leading(aegis);
    const started = Date.now();
    const rssAtLeading = await vmRssBytes(pid);
    let peak = rssAtLeading;
    const sampler = setInterval(() => {
      vmRssBytes(pid).then(
        (bytes) => (peak = Math.max(peak, bytes)),
        () => undefined,
      );
    }, 100);
    let items: Report[];
    try {
      items = await eventually(
        async () => {
          const current = await reports();
          return judged(current) >= OBJECTS * CHECKS ? current : undefined;
        },
        `the audit to report all ${OBJECTS} Deployments in ${ns}`,
        { timeoutMs: 600_000, intervalMs: 500 },
      );
    } finally {
      clearInterval(sampler);
    }
    const seconds = (Date.now() - started) / 1000;
    const rssAfter = await vmRssBytes(pid);
    const summary = { pass: 0, fail: 0, warn: 0 };
    for (const report of items)
      for (const key of Object.keys(summary) as (keyof typeof summary)[]) summary[key] += report.summary?.[key] ?? 0;
    const figure = {
      bench: "audit-cluster",
      objects: OBJECTS,
      checks: CHECKS,
      createSeconds: Math.round(createMs / 100) / 10,
      scanSeconds: Math.round(seconds * 10) / 10,
      objectsPerSec: Math.round(OBJECTS / seconds),
      reports: items.length,
      summary,
      rssAtLeadingMiB: Math.round((rssAtLeading / MiB) * 10) / 10,
      rssPeakMiB: Math.round((peak / MiB) * 10) / 10,
      rssAfterMiB: Math.round((rssAfter / MiB) * 10) / 10,
      rssGrowthMiB: Math.round(((peak - rssAtLeading) / MiB) * 10) / 10,
      // startAegisProcess runs the embedded PGlite store: most of the RSS at leading is its.
      evidence: "pglite",
      note: "scanSeconds and rssGrowthMiB run from leading: they include listing the Deployments and their ReplicaSets into the informers",
    };
    console.log(JSON.stringify(figure));
    // Where the time went: when the workload caches had synced and the audit began, from AEGIS's log.
    const auditStarted = aegis
      .logs()
      .split("\n")
      .map((line) => /"time":(\d+).*"msg":"leading: background audit started"/.exec(line)?.[1])
      .find((time) => time !== undefined);
    if (auditStarted !== undefined)
      console.log(
        `audit-scale: caches synced and the audit started ${(Number(auditStarted) - started) / 1000} s after leading`,
      );
    // Audit enforcement: a third warn on no-latest, all warn on digest, all pass resources.
    expect(summary).toEqual({
      pass: OBJECTS + (OBJECTS - Math.ceil(OBJECTS / 3)),
      fail: 0,
      warn: Math.ceil(OBJECTS / 3) + OBJECTS,
    });
    // Still serving: the scan neither crashed it nor wedged its event loop.
    expect((await fetch(`${aegis.apiUrl}/health`)).status).toBe(200);
  }, 900_000);
});
