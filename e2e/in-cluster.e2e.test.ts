// AEGIS as users run it: `helm install charts/aegis` into the local cluster, the image built from
// the project's Dockerfile (scripts/image.sh), two replicas on the real node. Its pods reach
// kube-apiserver through the `kubernetes` Service and PostgreSQL and Redis at the node IP
// (scripts/lib/node.sh, "Pod access"); kube-apiserver calls the webhook through its Service's
// endpoints. Then the gate story (deny, approve, admit), the leader pod deleted (the other takes
// the Lease, nothing is done twice), a rolling upgrade to another image tag under a stream of
// admissions (none may fail), /metrics of each pod, their memory, and `helm uninstall` leaving
// no webhook configuration behind.
//
// The release has a namespace and names of its own (fullnameOverride), so it shares nothing with
// the suites that run `aegis serve` as a local process but the ValidatingWebhookConfiguration
// `aegis` (one AEGIS per cluster): the e2e files run one after another, and this one removes it.
// AEGIS_E2E_SKIP_IMAGE_BUILD=1 uses the image the node already has instead of running
// scripts/image.sh (a cache hit when the sources did not change, minutes when they did).
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { chown, mkdir, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { request as httpsRequest, Agent as HttpsAgent, type RequestOptions } from "node:https";
import path from "node:path";
import {
  createConfiguration,
  CustomObjectsApi,
  ServerConfiguration,
  type RequestContext,
  type V1Pod,
  type V1StatefulSet,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { stringify } from "yaml";
import { approvalRequestName } from "../src/changehash/approval-request-name.js";
import { buildHelm, chartDir, helm as runHelm, type HelmResult, repoRoot } from "../test/integration/chart/helm.js";
import { eventually, kubeConfig, kubeconfigPath, kubectl } from "./helpers/kube.js";
import { sql } from "./helpers/postgres.js";
import { e2eTempDir } from "./helpers/tmp.js";

const run = randomBytes(3).toString("hex");
const RELEASE = `aegis-ic-${run}`;
const NS = RELEASE;
const APP_NS = `aegis-ic-app-${run}`;
const POLICY = `${APP_NS}-gate`;
const EXPIRING_NS = `aegis-ic-exp-${run}`;
const EXPIRING_POLICY = `${EXPIRING_NS}-gate`;
const APPROVERS = `aegis-ic-approvers-${run}`;
/** The namespace of the ApprovalRequests the memory figure is taken with. */
const RSS_NS = `aegis-ic-rss-${run}`;
/**
 * `npm test` holds 2 000 and waits for the leader to reconcile every one; the brief's figure (10 000
 * cached) is `npm run bench:in-cluster`, which sets AEGIS_IN_CLUSTER_REQUESTS=10000 and takes
 * about 6 minutes more: a measurement, not something each CI run needs to repeat.
 */
const RSS_REQUESTS = Number(process.env["AEGIS_IN_CLUSTER_REQUESTS"] ?? 2000);
if (!Number.isInteger(RSS_REQUESTS) || RSS_REQUESTS < 1)
  throw new Error(
    `AEGIS_IN_CLUSTER_REQUESTS must be a positive integer, not ${process.env["AEGIS_IN_CLUSTER_REQUESTS"]}`,
  );
/** Up to this many the leader must reconcile them all within the test; beyond, it is a figure. */
const RSS_MUST_RECONCILE = 2000;
/** How long the leader may go without reconciling one more ApprovalRequest before the test stops waiting. */
const RSS_STALL_MS = 90_000;
/** The outer bound on that wait, for a machine slow enough to crawl without ever stalling. */
const RSS_WAIT_CAP_MS = 900_000;
const RSS_CONCURRENCY = 16;
const RSS_LABEL = "aegis.valina.ai/e2e=in-cluster-rss";
/** charts/aegis/values.yaml serviceAccount.name: the identity the approval guard lets create requests. */
const AEGIS_SERVICE_ACCOUNT = "aegis-sa";
const LEASE = "aegis-controller";
const NODE = "aegis-node";
const TAINT_KEY = "aegis.valina.ai/real-node";
/** The node IP (scripts/lib/node.sh): pods reach PostgreSQL and Redis there. */
const NODE_IP = "10.244.0.1";
/** The kubelet's cgroup root for pods (scripts/lib/node.sh CGROUP_ROOT). */
const CGROUP_ROOT = "aegis-node";
const MEMORY_LIMIT_BYTES = 256 * 1024 * 1024;
const dev = { as: "dev", asGroups: ["developers"] };
const alice = { as: "alice", asGroups: [APPROVERS] };

const adminDatabaseUrl = process.env["DATABASE_URL"] || "postgres://aegis:aegis@127.0.0.1:5432/aegis";
const databaseName = `aegis_ic_${run}`;
/** The same database as the pods see it: through the node IP. */
const databaseUrlFor = (host: string): string => {
  const url = new URL(adminDatabaseUrl);
  url.hostname = host;
  url.pathname = `/${databaseName}`;
  return url.toString();
};
/**
 * A Redis database of this suite's own: the threat state AEGIS shares between replicas (windows,
 * lockdown, first-seen registries) outlives a run, and another run's lockdown would ask this one's
 * changes for an extra approval. Emptied before the install.
 */
const REDIS_DB = 7;
const localRedisUrl = (() => {
  const url = new URL(process.env["REDIS_URL"] || "redis://127.0.0.1:6379");
  url.pathname = `/${REDIS_DB}`;
  return url.toString();
})();
const redisUrl = (() => {
  const url = new URL(localRedisUrl);
  url.hostname = NODE_IP;
  return url.toString();
})();

const suiteStarted = Date.now();
const timings: Record<string, string> = {};
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
function note(what: string, value: string): void {
  timings[what] = value;
  console.log(`in-cluster: ${what}: ${value}`);
}

let image = "";
let imageBuildMs = 0;
let upgradeImage = "";
let workDir = "";
let valuesFile = "";
let installed = false;
/** printMemory("before the upgrade …"): the surviving replica after the failover test. */
let memoryBeforeUpgrade: MemoryReading[] = [];
let uninstalled = false;

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------
function helm(args: string[]): Promise<HelmResult> {
  return runHelm([...args, "--kubeconfig", kubeconfigPath()]);
}

function runScript(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", args, { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

async function getJson<T>(args: string[]): Promise<T> {
  return JSON.parse((await kubectl([...args, "-o", "json"])).stdout) as T;
}

async function releasePods(): Promise<V1Pod[]> {
  const list = await getJson<{ items: V1Pod[] }>([
    "get",
    "pods",
    "-n",
    NS,
    "-l",
    `app.kubernetes.io/name=aegis,app.kubernetes.io/instance=${RELEASE}`,
  ]);
  return list.items.filter((pod) => pod.metadata?.labels?.["app.kubernetes.io/component"] === "controller");
}

const isReady = (pod: V1Pod): boolean =>
  pod.metadata?.deletionTimestamp === undefined &&
  (pod.status?.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

/** Both replicas Ready (optionally on `image`); returns them by name. */
async function bothReady(what: string, timeoutMs: number, onImage?: string): Promise<V1Pod[]> {
  return eventually(
    async () => {
      const pods = await releasePods();
      const ready = pods.filter((pod) => isReady(pod) && (!onImage || pod.spec?.containers[0]?.image === onImage));
      return ready.length === 2
        ? ready.sort((a, b) => (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? ""))
        : undefined;
    },
    what,
    { timeoutMs, intervalMs: 500 },
  );
}

/** No replica ever restarted or was OOMKilled (kubelet's view). */
function expectNeverRestarted(pods: V1Pod[]): void {
  for (const pod of pods) {
    for (const status of pod.status?.containerStatuses ?? []) {
      expect(status.restartCount, `${pod.metadata?.name} restarts`).toBe(0);
      expect(status.lastState?.terminated?.reason, `${pod.metadata?.name} last state`).not.toBe("OOMKilled");
      expect(status.state?.terminated?.reason, `${pod.metadata?.name} state`).not.toBe("OOMKilled");
    }
  }
}

async function leaseHolder(): Promise<string> {
  return (
    await kubectl(["get", "lease", LEASE, "-n", NS, "-o", "jsonpath={.spec.holderIdentity}"], { allowFail: true })
  ).stdout.trim();
}

/** `<pod name>_<random>` (src/runtime/leader-election.ts defaultIdentity: the hostname is the pod's name). */
const podOfHolder = (holder: string): string => holder.replace(/_[^_]+$/, "");

function deployment(namespace: string, name: string, image: string): Record<string, unknown> {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "web", image }] } },
    },
  };
}

function gatePolicy(name: string, namespace: string, expiresAfter: string): Record<string, unknown> {
  return {
    apiVersion: "aegis.valina.ai/v1alpha1",
    kind: "AegisPolicy",
    metadata: { name },
    spec: {
      enforcement: "Enforce",
      match: { kinds: ["Deployment"], namespaces: [namespace] },
      checks: [],
      approval: { mode: "Always", minApprovals: 1, approvers: { groups: [APPROVERS] }, expiresAfter },
    },
  };
}

const applyAsDev = (manifest: Record<string, unknown>) =>
  kubectl(["apply", "-f", "-"], { ...dev, input: JSON.stringify(manifest), allowFail: true });

function requestNameFrom(message: string): string {
  const match = /ApprovalRequest [^/]+\/(\S+) (is|was)/.exec(message);
  if (!match?.[1]) throw new Error(`no ApprovalRequest named in: ${message}`);
  return match[1];
}

/** Applies until the in-cluster gate denies it and names its ApprovalRequest. */
async function deniedWithRequest(manifest: Record<string, unknown>): Promise<{ name: string; stderr: string }> {
  return eventually(async () => {
    const result = await applyAsDev(manifest);
    return result.code !== 0 && result.stderr.includes("ApprovalRequest")
      ? { name: requestNameFrom(result.stderr), stderr: result.stderr }
      : undefined;
  }, "the in-cluster gate to deny the apply and name an ApprovalRequest");
}

async function requestPhase(namespace: string, name: string): Promise<string> {
  return (
    await kubectl(["get", "areq", name, "-n", namespace, "-o", "jsonpath={.status.phase}"], { allowFail: true })
  ).stdout.trim();
}

async function transitions(namespace: string, name: string): Promise<{ type: string; to: string }[]> {
  return sql(
    databaseUrlFor(new URL(adminDatabaseUrl).hostname),
    `SELECT type, data->>'to' AS "to" FROM evidence_records
      WHERE subject = $1 AND type IN ('approval.transition', 'approval.expired') ORDER BY seq`,
    [`ApprovalRequest/${namespace}/${name}`],
  );
}

interface KubeEvent {
  reason: string;
  count?: number;
  reportingInstance?: string;
  message?: string;
}

async function requestEvents(namespace: string, name: string, reason: string): Promise<KubeEvent[]> {
  const list = await getJson<{ items: KubeEvent[] }>([
    "get",
    "events",
    "-n",
    namespace,
    "--field-selector",
    `involvedObject.kind=ApprovalRequest,involvedObject.name=${name},reason=${reason}`,
  ]);
  return list.items;
}

async function namespaceWithServiceAccount(name: string): Promise<void> {
  await kubectl(["create", "namespace", name]);
  await eventually(
    async () =>
      (await kubectl(["get", "serviceaccount", "default", "-n", name], { allowFail: true })).code === 0
        ? true
        : undefined,
    `the default ServiceAccount in ${name}`,
  );
}

// ----- the node's view of a container: cgroup (memory, CPU quota) and its main process -------
interface ContainerOnNode {
  cgroupVersion: 1 | 2;
  memoryDir: string;
  cpuDir: string;
  pid: number;
}

async function findDir(root: string, name: string, depth: number): Promise<string | undefined> {
  let entries: string[];
  try {
    entries = (await readdir(root, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return undefined;
  }
  if (entries.includes(name)) return path.join(root, name);
  if (depth === 0) return undefined;
  for (const entry of entries) {
    const found = await findDir(path.join(root, entry), name, depth - 1);
    if (found) return found;
  }
  return undefined;
}

async function readText(file: string): Promise<string> {
  return (await readFile(file, "utf8")).trim();
}

/** The AEGIS container of `pod` on this machine's node: its cgroups and its `node` process. */
async function containerOnNode(pod: V1Pod): Promise<ContainerOnNode> {
  const uid = pod.metadata?.uid ?? "";
  const containerId = (pod.status?.containerStatuses?.[0]?.containerID ?? "").replace(/^containerd:\/\//, "");
  if (!uid || !containerId) throw new Error(`pod ${pod.metadata?.name} has no uid or container id yet`);
  const v1Memory = `/sys/fs/cgroup/memory/${CGROUP_ROOT}`;
  const v1 = await findDir(v1Memory, `pod${uid}`, 3);
  let memoryDir: string;
  let cpuDir: string;
  let cgroupVersion: 1 | 2;
  if (v1) {
    cgroupVersion = 1;
    memoryDir = path.join(v1, containerId);
    const relative = path.relative(v1Memory, memoryDir);
    const cpuRoot = (await findDir("/sys/fs/cgroup", "cpu,cpuacct", 0)) ?? "/sys/fs/cgroup/cpu";
    cpuDir = path.join(cpuRoot, CGROUP_ROOT, relative);
  } else {
    const v2 = await findDir(`/sys/fs/cgroup/${CGROUP_ROOT}`, `pod${uid}`, 3);
    if (!v2) throw new Error(`no cgroup for pod ${pod.metadata?.name} (uid ${uid}) under /sys/fs/cgroup`);
    cgroupVersion = 2;
    memoryDir = path.join(v2, containerId);
    cpuDir = memoryDir;
  }
  const pids = (await readText(path.join(memoryDir, "cgroup.procs"))).split("\n").filter(Boolean).map(Number);
  for (const pid of pids) {
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0");
    if (cmdline.some((arg) => arg.endsWith("dist/cli/aegis.js"))) return { cgroupVersion, memoryDir, cpuDir, pid };
  }
  throw new Error(`no aegis process among ${pids.join(", ")} in ${memoryDir}`);
}

interface MemoryReading {
  pod: string;
  usageBytes: number;
  peakBytes: number;
  rssBytes: number;
  limitBytes: number;
  processRssBytes: number;
  processPeakRssBytes: number;
  /** The process's private memory (RssAnon): VmRSS also counts the node binary's file pages. */
  processAnonBytes: number;
}

const statusField = (status: string, field: string): string =>
  new RegExp(`^${field}:\\s*(.+)$`, "m").exec(status)?.[1]?.trim() ?? "";
const kib = (value: string): number => Number.parseInt(value, 10) * 1024;
const mib = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

async function memoryOf(pod: V1Pod): Promise<MemoryReading> {
  const container = await containerOnNode(pod);
  const dir = container.memoryDir;
  const stat = await readText(path.join(dir, "memory.stat"));
  const statValue = (key: string): number => Number(new RegExp(`^${key} (\\d+)$`, "m").exec(stat)?.[1] ?? NaN);
  const status = await readFile(`/proc/${container.pid}/status`, "utf8");
  const v1 = container.cgroupVersion === 1;
  return {
    pod: pod.metadata?.name ?? "",
    usageBytes: Number(await readText(path.join(dir, v1 ? "memory.usage_in_bytes" : "memory.current"))),
    peakBytes: Number(
      await readText(path.join(dir, v1 ? "memory.max_usage_in_bytes" : "memory.peak")).catch(() => "NaN"),
    ),
    rssBytes: v1 ? statValue("total_rss") : statValue("anon"),
    limitBytes: Number(await readText(path.join(dir, v1 ? "memory.limit_in_bytes" : "memory.max"))),
    processRssBytes: kib(statusField(status, "VmRSS")),
    processPeakRssBytes: kib(statusField(status, "VmHWM")),
    processAnonBytes: kib(statusField(status, "RssAnon")),
  };
}

function printMemory(when: string, readings: MemoryReading[]): void {
  for (const r of readings) {
    note(
      `memory ${when} ${r.pod}`,
      `RSS ${mib(r.rssBytes)} (cgroup rss; process VmRSS ${mib(r.processRssBytes)} of which RssAnon ${mib(r.processAnonBytes)}, peak VmHWM ${mib(r.processPeakRssBytes)}), ` +
        `cgroup usage ${mib(r.usageBytes)}, peak ${mib(r.peakBytes)}, limit ${mib(r.limitBytes)} ` +
        `(${((r.peakBytes / MEMORY_LIMIT_BYTES) * 100).toFixed(0)} % of 256Mi at peak cgroup usage)`,
    );
  }
}

// ----- admissions sent straight to kube-apiserver (keep-alive, admin client certificate) -------
interface StreamResult {
  sent: number;
  allowed: number;
  denied: number;
  failures: string[];
}

async function apiClient(): Promise<{ server: URL; agent: HttpsAgent }> {
  const kc = kubeConfig();
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("the admin kubeconfig names no cluster");
  const options: RequestOptions = {};
  await kc.applyToHTTPSOptions(options);
  const agent = new HttpsAgent({
    keepAlive: true,
    maxSockets: 8,
    ca: options.ca,
    cert: options.cert,
    key: options.key,
  });
  return { server: new URL(cluster.server), agent };
}

function send(
  client: { server: URL; agent: HttpsAgent },
  method: string,
  urlPath: string,
  body: string,
  contentType: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        agent: client.agent,
        hostname: client.server.hostname,
        port: client.server.port,
        method,
        path: urlPath,
        headers: { "content-type": contentType, accept: "application/json", "content-length": Buffer.byteLength(body) },
        timeout: 30_000,
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8").on("data", (chunk: string) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("no answer within 30 s")));
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * Server-side dry-run applies of Deployment `web` in the gated namespace, through the gate
 * (sideEffects NoneOnDryRun): the approved spec unchanged (allowed: nothing new runs) and, every
 * other one, a new image (denied by AEGIS: needs approval, none made on a dry run). Anything else
 * (the webhook not reached, a timeout, a 5xx) is a failure.
 */
function admissionStream(client: { server: URL; agent: HttpsAgent }, approvedImage: string, perSecond: number) {
  const result: StreamResult = { sent: 0, allowed: 0, denied: 0, failures: [] };
  const inFlight = new Set<Promise<void>>();
  const urlPath = `/apis/apps/v1/namespaces/${APP_NS}/deployments/web?dryRun=All&fieldManager=aegis-ic-stream&force=true`;
  let stopped = false;
  const one = async (index: number): Promise<void> => {
    const denied = index % 2 === 1;
    const body = JSON.stringify(deployment(APP_NS, "web", denied ? "ghcr.io/acme/web:2.0" : approvedImage));
    const at = seconds(Date.now() - streamStart);
    try {
      const response = await send(client, "PATCH", urlPath, body, "application/apply-patch+yaml");
      if (!denied && response.status === 200) result.allowed += 1;
      else if (denied && response.status === 403 && response.body.includes("was not created (dry run)"))
        result.denied += 1;
      else
        result.failures.push(
          `#${index} at ${at} (${denied ? "deny" : "allow"} expected): ${response.status} ${response.body.slice(0, 400)}`,
        );
    } catch (error) {
      result.failures.push(`#${index} at ${at}: ${error instanceof Error ? error.message : String(error)}`);
    }
  };
  const streamStart = Date.now();
  const timer = setInterval(() => {
    if (stopped) return;
    const index = result.sent++;
    const p = one(index).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }, 1000 / perSecond);
  return {
    result,
    stop: async (): Promise<StreamResult> => {
      stopped = true;
      clearInterval(timer);
      await Promise.all([...inFlight]);
      return result;
    },
  };
}

/** The gate's records of dry runs on `web`: only the stream sends those. */
async function dryRunDecisionRecords(): Promise<number> {
  const rows = await sql<{ n: string }>(
    databaseUrlFor(new URL(adminDatabaseUrl).hostname),
    `SELECT count(*) AS n FROM evidence_records
      WHERE type = 'admission.decision' AND subject = $1 AND (data->>'dryRun')::boolean`,
    [`Deployment/${APP_NS}/web`],
  );
  return Number(rows[0]?.n ?? 0);
}

async function scrape(podIp: string): Promise<string> {
  const response = await fetch(`http://${podIp}:8750/metrics`, { signal: AbortSignal.timeout(10_000) });
  expect(response.status).toBe(200);
  return response.text();
}

const metricValue = (text: string, name: string): number | undefined => {
  const match = new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.eE+-]+)$`, "m").exec(text);
  return match?.[1] === undefined ? undefined : Number(match[1]);
};

// ----- Thousands of ApprovalRequests, created as AEGIS (the approval guard admits no one else) --------
/** The ApprovalRequests in a pod's informer cache: aegis_approval_requests summed over its phases. */
const cachedRequests = (text: string): number =>
  [...text.matchAll(/^aegis_approval_requests\{[^}]*\} ([0-9.eE+-]+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0);

/** A request as the gate opens one (src/webhook/gate.ts buildApprovalRequest), for Deployment `service-<index>`. */
function benchApprovalRequest(index: number): Record<string, unknown> {
  const target = `service-${index}`;
  const changeHash = `sha256:${createHash("sha256").update(`${RSS_NS}/${target}`).digest("hex")}`;
  return {
    apiVersion: "aegis.valina.ai/v1alpha1",
    kind: "ApprovalRequest",
    metadata: {
      name: approvalRequestName("Deployment", target, changeHash),
      namespace: RSS_NS,
      labels: {
        "app.kubernetes.io/managed-by": "aegis",
        "aegis.valina.ai/target-kind": "deployment",
        "aegis.valina.ai/target-name": target,
      },
    },
    spec: {
      target: { apiVersion: "apps/v1", kind: "Deployment", namespace: RSS_NS, name: target },
      changeHash,
      policies: [POLICY],
      requester: {
        username: "system:serviceaccount:argocd:argocd-application-controller",
        groups: ["system:serviceaccounts", "system:serviceaccounts:argocd", "system:authenticated"],
      },
      risk: {
        score: 35,
        factors: [
          { name: "production-namespace", points: 20, detail: `namespace ${RSS_NS} is labelled env=prod` },
          {
            name: "image-change",
            points: 15,
            detail: `container ${target}: image ghcr.io/acme/${target}:2.14.0 → 2.15.0`,
          },
        ],
      },
      summary: `Deployment ${RSS_NS}/${target}: image ghcr.io/acme/${target} 2.14.0 → 2.15.0 (containers ${target})`,
      reason: "release 2.15.0 (JIRA PAY-1432)",
      decisions: [],
    },
  };
}

/**
 * CustomObjectsApi as `user` (Impersonate-User, with the admin's client certificate). client-node
 * builds a new connection pool for every request; this one keeps the first, so thousands of
 * creates reuse a few keep-alive connections instead of a TLS handshake each.
 */
function customObjectsAs(user: string): { api: CustomObjectsApi; close: () => Promise<void> } {
  const kc = kubeConfig();
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("the admin kubeconfig names no cluster");
  let dispatcher: ReturnType<RequestContext["getDispatcher"]>;
  const api = new CustomObjectsApi(
    createConfiguration({
      baseServer: new ServerConfiguration(cluster.server, {}),
      authMethods: {
        default: {
          getName: () => "default",
          applySecurityAuthentication: async (context: RequestContext) => {
            await kc.applySecurityAuthentication(context);
            context.setHeaderParam("Impersonate-User", user);
            if (dispatcher) context.setDispatcher(dispatcher);
            else dispatcher = context.getDispatcher();
          },
        },
      },
    }),
  );
  return { api, close: async () => dispatcher?.close() };
}

interface CreateResult {
  created: number;
  existed: number;
  retries: number;
  failures: string[];
}

/** `count` requests through `concurrency` workers; transient failures (429, 5xx, network) are retried. */
async function createApprovalRequests(
  api: CustomObjectsApi,
  count: number,
  concurrency: number,
): Promise<CreateResult> {
  const result: CreateResult = { created: 0, existed: 0, retries: 0, failures: [] };
  const started = Date.now();
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (result.failures.length < 20) {
      const index = next++;
      if (index >= count) return;
      const body = benchApprovalRequest(index);
      for (let attempt = 1; ; attempt++) {
        try {
          await api.createNamespacedCustomObject({
            group: "aegis.valina.ai",
            version: "v1alpha1",
            namespace: RSS_NS,
            plural: "approvalrequests",
            body,
          });
          result.created += 1;
          break;
        } catch (error) {
          const code = (error as { code?: number }).code;
          if (code === 409) {
            result.existed += 1;
            break;
          }
          const transient = code === undefined || code === 429 || code >= 500;
          if (!transient || attempt >= 5) {
            const detail = (error as { body?: unknown }).body ?? (error instanceof Error ? error.message : error);
            result.failures.push(`#${index} (${code ?? "no status"}): ${String(JSON.stringify(detail)).slice(0, 400)}`);
            break;
          }
          result.retries += 1;
          await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
        }
      }
      done += 1;
      if (done % 1000 === 0)
        console.log(`in-cluster: ${done}/${count} ApprovalRequests created (${seconds(Date.now() - started)})`);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  return result;
}

/** The leader's approval.transition records for requests in `namespace` (one per reconciled request). */
async function reconciledIn(namespace: string): Promise<number> {
  const rows = await sql<{ n: string }>(
    databaseUrlFor(new URL(adminDatabaseUrl).hostname),
    `SELECT count(*) AS n FROM evidence_records WHERE type = 'approval.transition' AND subject LIKE $1`,
    [`ApprovalRequest/${namespace}/%`],
  );
  return Number(rows[0]?.n ?? 0);
}

/** The container's CPU-quota figures (cgroup cpu.stat): periods, throttled periods, throttled seconds. */
async function cpuThrottling(pod: V1Pod): Promise<{ periods: number; throttled: number; throttledSeconds: number }> {
  const onNode = await containerOnNode(pod);
  const stat = await readText(path.join(onNode.cpuDir, "cpu.stat"));
  const value = (key: string): number => Number(new RegExp(`^${key} (\\d+)$`, "m").exec(stat)?.[1] ?? NaN);
  return {
    periods: value("nr_periods"),
    throttled: value("nr_throttled"),
    throttledSeconds: onNode.cgroupVersion === 1 ? value("throttled_time") / 1e9 : value("throttled_usec") / 1e6,
  };
}

/** Reads each pod's memory every `intervalMs` until stopped: the cgroup RSS trace and its peak. */
function memorySampler(pods: V1Pod[], intervalMs: number) {
  const trace: number[][] = pods.map(() => []);
  const peak: number[] = pods.map(() => 0);
  const sample = async (): Promise<void> => {
    const readings = await Promise.all(pods.map((pod) => memoryOf(pod).catch(() => undefined)));
    readings.forEach((r, i) => {
      if (!r) return;
      trace[i]?.push(Math.round(r.rssBytes / 1024 / 1024));
      peak[i] = Math.max(peak[i] ?? 0, r.rssBytes);
    });
  };
  let pending = sample();
  let stopped = false;
  const timer = setInterval(() => {
    pending = pending.then(sample);
  }, intervalMs);
  return {
    trace,
    peak,
    stop: async (): Promise<void> => {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      await pending;
      await sample();
    },
  };
}

/** The kernel's record of the container's cgroup: no OOM kill. */
async function expectNoOomKillOnNode(pod: V1Pod): Promise<void> {
  const onNode = await containerOnNode(pod);
  if (onNode.cgroupVersion === 1)
    expect(await readText(path.join(onNode.memoryDir, "memory.failcnt")), pod.metadata?.name).toBe("0");
  else
    expect(await readText(path.join(onNode.memoryDir, "memory.events")), pod.metadata?.name).toMatch(/^oom_kill 0$/m);
}

// ----- cleanup of this run and of aborted earlier ones -----------------------------------------
async function removeRelease(release: string, namespace: string): Promise<void> {
  await helm(["uninstall", release, "-n", namespace, "--wait", "--timeout", "120s", "--ignore-not-found"]);
  const configuration = await kubectl(
    ["get", "validatingwebhookconfiguration", "aegis", "-o", "jsonpath={.webhooks[0].clientConfig.service.namespace}"],
    { allowFail: true },
  );
  // Break-glass when the uninstall hook could not run: only a configuration pointing at this release.
  if (configuration.code === 0 && configuration.stdout.trim() === namespace)
    await kubectl(["delete", "validatingwebhookconfiguration", "aegis", "--ignore-not-found"], { allowFail: true });
}

async function removeStaleRuns(): Promise<void> {
  const listed = await helm(["list", "-A", "-o", "json"]);
  const releases =
    listed.code === 0 ? (JSON.parse(listed.stdout || "[]") as { name: string; namespace: string }[]) : [];
  for (const stale of releases.filter((r) => r.name.startsWith("aegis-ic-"))) {
    console.log(`in-cluster: removing release ${stale.name} left by an aborted run`);
    await removeRelease(stale.name, stale.namespace);
    await kubectl(["delete", "namespace", stale.namespace, "--ignore-not-found", "--wait=false"], { allowFail: true });
  }
  await kubectl(["delete", "pv", "-l", "aegis.valina.ai/e2e=in-cluster", "--ignore-not-found", "--wait=false"], {
    allowFail: true,
  });
  // Thousands of ApprovalRequests left by an aborted run would sit in every later AEGIS's caches.
  await kubectl(["delete", "namespace", "-l", RSS_LABEL, "--ignore-not-found", "--wait=false"], { allowFail: true });
}

// ---------------------------------------------------------------------------------------------
// setup
// ---------------------------------------------------------------------------------------------
const onLocalNode = !process.env["AEGIS_E2E_KUBECONFIG"];

beforeAll(async () => {
  if (!onLocalNode) return;
  const node = await kubectl(["get", "node", NODE], { allowFail: true });
  if (node.code !== 0)
    throw new Error(`no Node ${NODE}: scripts/cluster.sh up starts it (not with AEGIS_NODE=0); this suite needs it`);
  const redis = new Redis(localRedisUrl);
  try {
    await redis.flushdb();
  } finally {
    redis.disconnect();
  }

  // The image from the Dockerfile, loaded into the node (scripts/image.sh; cached by its sources).
  const version = (JSON.parse(await readFile(path.join(repoRoot, "package.json"), "utf8")) as { version: string })
    .version;
  image = `localhost/aegis:${version}`;
  const builtAt = Date.now();
  if (process.env["AEGIS_E2E_SKIP_IMAGE_BUILD"] !== "1") {
    const built = await runScript([path.join(repoRoot, "scripts", "image.sh")]);
    if (built.code !== 0)
      throw new Error(`scripts/image.sh failed (exit ${built.code}):\n${built.stderr.slice(-3000)}`);
    image = built.stdout.trim().split("\n").pop() ?? image;
  }
  imageBuildMs = Date.now() - builtAt;
  note("image build/load (not part of the suite time)", seconds(imageBuildMs));
  await buildHelm();
  // A second name for the same image: the rolling upgrade changes the pods' image reference.
  upgradeImage = `${image}-upgrade`;
  const tagged = await runScript([path.join(repoRoot, "scripts", "cluster.sh"), "image", "tag", image, upgradeImage]);
  if (tagged.code !== 0) throw new Error(`the node has no ${image} (npm run image): ${tagged.stderr.slice(-2000)}`);

  await removeStaleRuns();
  await sql(adminDatabaseUrl, `CREATE DATABASE ${databaseName}`);

  // Two hostPath PersistentVolumes bound in advance to the StatefulSet's claims (no provisioner
  // here), in directories AEGIS's user owns (hostPath volumes get no fsGroup).
  workDir = await e2eTempDir(`${RELEASE}-`);
  await kubectl(["create", "namespace", NS]);
  for (const ordinal of [0, 1]) {
    const dir = path.join(workDir, `data-${ordinal}`);
    await mkdir(dir, { mode: 0o700 });
    await chown(dir, 10001, 10001);
    await kubectl(["apply", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: { name: `${RELEASE}-data-${ordinal}`, labels: { "aegis.valina.ai/e2e": "in-cluster" } },
        spec: {
          capacity: { storage: "1Gi" },
          accessModes: ["ReadWriteOnce"],
          persistentVolumeReclaimPolicy: "Retain",
          storageClassName: "",
          claimRef: { namespace: NS, name: `data-${RELEASE}-${ordinal}` },
          hostPath: { path: dir, type: "Directory" },
        },
      }),
    });
  }

  const clientCa = await readFile(path.join(path.dirname(kubeconfigPath()), "webhook-client-ca.crt"), "utf8");
  const [repository, tag] = [image.slice(0, image.lastIndexOf(":")), image.slice(image.lastIndexOf(":") + 1)];
  valuesFile = path.join(workDir, "values.yaml");
  await writeFile(
    valuesFile,
    stringify({
      fullnameOverride: RELEASE,
      image: { repository, tag, pullPolicy: "IfNotPresent" },
      replicaCount: 2,
      tolerations: [{ key: TAINT_KEY, operator: "Exists", effect: "NoSchedule" }],
      database: { url: databaseUrlFor(NODE_IP) },
      redis: { url: redisUrl },
      webhook: { clientCA: { pem: clientCa } },
      rbac: { approver: { groups: [APPROVERS] } },
    }),
  );

  await namespaceWithServiceAccount(APP_NS);
  await namespaceWithServiceAccount(EXPIRING_NS);
  for (const namespace of [APP_NS, EXPIRING_NS])
    await kubectl(["create", "rolebinding", "dev-edit", "--clusterrole=edit", "--group=developers", "-n", namespace]);
}, 30 * 60_000);

afterAll(async () => {
  if (!onLocalNode) return;
  if (installed && !uninstalled) await removeRelease(RELEASE, NS).catch(() => undefined);
  await kubectl(["delete", "apol", POLICY, EXPIRING_POLICY, "--ignore-not-found"], { allowFail: true });
  await kubectl(["delete", "namespace", APP_NS, EXPIRING_NS, RSS_NS, "--ignore-not-found", "--wait=false"], {
    allowFail: true,
  });
  // The claims go with the namespace; then the volumes and their directories.
  await kubectl(["delete", "namespace", NS, "--ignore-not-found", "--timeout=90s"], { allowFail: true });
  await kubectl(["delete", "pv", `${RELEASE}-data-0`, `${RELEASE}-data-1`, "--ignore-not-found"], { allowFail: true });
  if (workDir) await rm(workDir, { recursive: true, force: true });
  await sql(adminDatabaseUrl, `DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`).catch(() => undefined);
  note("suite time (without the image build)", seconds(Date.now() - suiteStarted - imageBuildMs));
  console.log(`in-cluster: summary ${JSON.stringify(timings, null, 2)}`);
}, 300_000);

// ---------------------------------------------------------------------------------------------
// the suite
// ---------------------------------------------------------------------------------------------
describe.skipIf(!onLocalNode)("AEGIS installed with its chart, on the local cluster's real node", () => {
  let approvedName = "";
  const approvedImage = "ghcr.io/acme/web:1.0";

  it("helm install: two replicas on the node become Ready, with the brief's pod, enforced by the kernel", async () => {
    const started = Date.now();
    const install = await helm(["install", RELEASE, chartDir, "-n", NS, "-f", valuesFile]);
    expect(install.code, install.stderr).toBe(0);
    installed = true;
    const pods = await bothReady("both AEGIS replicas to be Ready", 180_000);
    note("pods Ready after helm install", seconds(Date.now() - started));

    for (const pod of pods) {
      const name = pod.metadata?.name ?? "";
      expect(pod.spec?.nodeName, name).toBe(NODE);
      expect(pod.status?.phase, name).toBe("Running");
      expect(pod.spec?.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 10001,
        seccompProfile: { type: "RuntimeDefault" },
      });
      const c = pod.spec?.containers[0];
      expect(c?.image).toBe(image);
      expect(c?.imagePullPolicy).toBe("IfNotPresent");
      expect(c?.securityContext).toMatchObject({
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        capabilities: { drop: ["ALL"] },
      });
      expect(c?.resources).toEqual({
        requests: { cpu: "50m", memory: "64Mi" },
        limits: { cpu: "500m", memory: "256Mi" },
      });
      // Readiness asks /readyz (caches synced, webhook configured, evidence writable), liveness /health.
      expect(c?.readinessProbe).toMatchObject({
        httpGet: { path: "/readyz", port: 8750 },
        initialDelaySeconds: 5,
        periodSeconds: 10,
        timeoutSeconds: 3,
      });
      expect(c?.livenessProbe).toMatchObject({
        httpGet: { path: "/health", port: 8750 },
        initialDelaySeconds: 10,
        periodSeconds: 30,
        timeoutSeconds: 5,
      });
      expect(pod.status?.qosClass).toBe("Burstable");

      // What the kernel holds the container to.
      const onNode = await containerOnNode(pod);
      const status = await readFile(`/proc/${onNode.pid}/status`, "utf8");
      expect(statusField(status, "Uid").split(/\s+/), `${name} uids`).toEqual(["10001", "10001", "10001", "10001"]);
      expect(statusField(status, "CapEff"), `${name} effective capabilities`).toBe("0000000000000000");
      expect(statusField(status, "NoNewPrivs")).toBe("1");
      const mounts = await readFile(`/proc/${onNode.pid}/mountinfo`, "utf8");
      const root = mounts.split("\n").find((line) => line.split(" ")[4] === "/");
      expect(root?.split(" ")[5]?.split(","), `${name} root mount options`).toContain("ro");
      const memory = await memoryOf(pod);
      expect(memory.limitBytes, `${name} memory limit`).toBe(MEMORY_LIMIT_BYTES);
      if (onNode.cgroupVersion === 1) {
        expect(await readText(path.join(onNode.cpuDir, "cpu.cfs_quota_us"))).toBe("50000");
        expect(await readText(path.join(onNode.cpuDir, "cpu.cfs_period_us"))).toBe("100000");
      } else {
        expect(await readText(path.join(onNode.cpuDir, "cpu.max"))).toBe("50000 100000");
      }
    }
    expectNeverRestarted(pods);
  }, 240_000);

  it("kube-apiserver calls the webhook through the release's Service, and the pods reached kube-apiserver, PostgreSQL and Redis", async () => {
    const configuration = await getJson<{
      webhooks: { name: string; clientConfig: { service?: { namespace: string; name: string; port: number } } }[];
    }>(["get", "validatingwebhookconfiguration", "aegis"]);
    for (const webhook of configuration.webhooks)
      expect(webhook.clientConfig.service, webhook.name).toEqual(
        expect.objectContaining({ namespace: NS, name: `${RELEASE}-webhook`, port: 443 }),
      );
    // The webhook Service's endpoints are the two pods (what --enable-aggregator-routing calls).
    const slices = await getJson<{ items: { endpoints?: { addresses: string[] }[] }[] }>([
      "get",
      "endpointslices",
      "-n",
      NS,
      "-l",
      `kubernetes.io/service-name=${RELEASE}-webhook`,
    ]);
    const podIps = (await releasePods()).map((pod) => pod.status?.podIP).sort();
    expect(
      slices.items
        .flatMap((s) => s.endpoints ?? [])
        .flatMap((e) => e.addresses)
        .sort(),
    ).toEqual(podIps);
    // Leader election (kube-apiserver), the evidence (PostgreSQL) and the bus (Redis) from inside the pods.
    expect(podOfHolder(await eventually(async () => (await leaseHolder()) || undefined, "a Lease holder"))).toMatch(
      new RegExp(`^${RELEASE}-[01]$`),
    );
    for (const ip of podIps) {
      const metrics = await scrape(ip ?? "");
      expect(metricValue(metrics, "aegis_evidence_database_up"), `${ip} database`).toBe(1);
      expect(metricValue(metrics, "aegis_bus_connected"), `${ip} Redis`).toBe(1);
    }
  });

  it("the gate story through the in-cluster AEGIS: denied with an ApprovalRequest, approved, admitted", async () => {
    await kubectl(["apply", "-f", "-"], { input: JSON.stringify(gatePolicy(POLICY, APP_NS, "1h")) });
    await eventually(
      async () =>
        (await kubectl(["get", "apol", POLICY, "-o", "jsonpath={.status.conditions[0].status}"])).stdout === "True"
          ? true
          : undefined,
      "the leader to mark the policy Ready",
    );
    const web = deployment(APP_NS, "web", approvedImage);
    const denied = await deniedWithRequest(web);
    expect(denied.stderr).toContain('admission webhook "gate.aegis.valina.ai" denied the request');
    expect(denied.stderr).toMatch(/is Pending; approve with: kubectl aegis approve/);
    approvedName = denied.name;
    await eventually(
      async () => ((await requestPhase(APP_NS, approvedName)) === "Pending" ? true : undefined),
      "the ApprovalRequest to be Pending",
    );
    expect((await kubectl(["get", "deployment", "web", "-n", APP_NS], { allowFail: true })).code).not.toBe(0);

    const approved = await kubectl(["aegis", "approve", approvedName, "-n", APP_NS, "-m", "in-cluster e2e"], alice);
    expect(approved.stdout).toMatch(/approved by alice/i);
    await eventually(
      async () => ((await requestPhase(APP_NS, approvedName)) === "Approved" ? true : undefined),
      "the ApprovalRequest to be Approved",
    );
    const admitted = await eventually(async () => {
      const result = await applyAsDev(web);
      return result.code === 0 ? result : undefined;
    }, "the approved apply to be admitted");
    expect(admitted.stdout).toMatch(/deployment\.apps\/web (created|configured)/);
    expect((await kubectl(["get", "deployment", "web", "-n", APP_NS])).code).toBe(0);
  });

  it("the leader pod deleted: the other replica takes the Lease, and nothing is done twice", async () => {
    await kubectl(["apply", "-f", "-"], { input: JSON.stringify(gatePolicy(EXPIRING_POLICY, EXPIRING_NS, "12s")) });
    await eventually(
      async () =>
        (await kubectl(["get", "apol", EXPIRING_POLICY, "-o", "jsonpath={.status.conditions[0].status}"])).stdout ===
        "True"
          ? true
          : undefined,
      "the second policy to be Ready",
    );
    // A request that expires while leadership changes hands: expiry is the leader's job.
    const expiring = (await deniedWithRequest(deployment(EXPIRING_NS, "batch", "ghcr.io/acme/batch:1.0"))).name;
    const holder = await leaseHolder();
    const leader = podOfHolder(holder);
    const pods = await releasePods();
    expectNeverRestarted(pods);
    const other = pods.map((pod) => pod.metadata?.name ?? "").find((name) => name !== leader);
    expect(pods.map((pod) => pod.metadata?.name)).toContain(leader);

    const deletedAt = Date.now();
    await kubectl(["delete", "pod", leader, "-n", NS, "--wait=false"]);
    const newHolder = await eventually(
      async () => {
        const current = await leaseHolder();
        return current && current !== holder ? current : undefined;
      },
      "another replica to take the Lease",
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    const failover = Date.now() - deletedAt;
    note("failover (leader pod deleted → Lease taken by the other)", `${seconds(failover)} (preStop 5 s included)`);
    expect(podOfHolder(newHolder)).toBe(other);
    expect(failover).toBeLessThan(20_000);

    await eventually(
      async () => ((await requestPhase(EXPIRING_NS, expiring)) === "Expired" ? true : undefined),
      "the request to expire under the new leader",
      { timeoutMs: 60_000 },
    );
    // Let a late replay show up before counting (the recreated pod's resync, a second reconcile).
    await bothReady("the deleted replica to come back Ready", 120_000);
    await new Promise((resolve) => setTimeout(resolve, 3000));

    expect((await transitions(EXPIRING_NS, expiring)).map((row) => `${row.type}:${row.to}`)).toEqual([
      "approval.transition:Pending",
      "approval.expired:Expired",
    ]);
    const expiredEvents = await requestEvents(EXPIRING_NS, expiring, "Expired");
    expect(expiredEvents, JSON.stringify(expiredEvents)).toHaveLength(1);
    expect(expiredEvents[0]?.count ?? 1).toBe(1);
    note("request expired by", expiredEvents[0]?.reportingInstance ?? "?");
    // The new leader resynced every request: the approved one is not approved again.
    expect((await transitions(APP_NS, approvedName)).map((row) => row.to)).toEqual(["Pending", "Approved"]);
    const approvedEvents = await requestEvents(APP_NS, approvedName, "Approved");
    expect(approvedEvents).toHaveLength(1);
    expect(approvedEvents[0]?.count ?? 1).toBe(1);

    const survivor = (await releasePods()).find((pod) => pod.metadata?.name === other);
    if (survivor) {
      memoryBeforeUpgrade = [await memoryOf(survivor)];
      printMemory("before the upgrade (running since install)", memoryBeforeUpgrade);
    }
  }, 180_000);

  // Once failed 1 of 245 under the whole suite's load: "read tcp …->10.244.0.2:9443: connection
  // reset by peer", the old pod closing a keep-alive connection the API server had just written
  // a review on. The webhook server now drains (Connection: close, serve until quiet) before it
  // closes: test/integration/webhook/drain.test.ts.
  it("a rolling upgrade to another image tag under a stream of admissions fails none of them", async () => {
    const before = await bothReady("both replicas Ready before the upgrade", 120_000);
    expectNeverRestarted(before);
    const client = await apiClient();
    const stream = admissionStream(client, approvedImage, 4);
    // Traffic on the old pods first.
    await new Promise((resolve) => setTimeout(resolve, 3000));

    const started = Date.now();
    const upgrade = await helm([
      "upgrade",
      RELEASE,
      chartDir,
      "-n",
      NS,
      "-f",
      valuesFile,
      "--set",
      `image.tag=${upgradeImage.slice(upgradeImage.lastIndexOf(":") + 1)}`,
    ]);
    expect(upgrade.code, upgrade.stderr).toBe(0);
    await eventually(
      async () => {
        const sts = await getJson<V1StatefulSet>(["get", "statefulset", RELEASE, "-n", NS]);
        const status = sts.status;
        return sts.metadata?.generation === status?.observedGeneration &&
          status?.updateRevision === status?.currentRevision &&
          status?.updatedReplicas === 2 &&
          status?.readyReplicas === 2
          ? true
          : undefined;
      },
      "the StatefulSet's rollout to finish",
      { timeoutMs: 240_000, intervalMs: 500 },
    );
    const upgraded = await bothReady("both replicas Ready on the new tag", 60_000, upgradeImage);
    const duration = Date.now() - started;
    // Traffic on the new pods too.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const result = await stream.stop();
    note(
      "rolling upgrade",
      `${seconds(duration)}; ${result.sent} admissions during it (${result.allowed} allowed, ${result.denied} denied by AEGIS), ${result.failures.length} failed`,
    );
    expect(result.failures, result.failures.slice(0, 10).join("\n")).toEqual([]);
    expect(result.sent).toBeGreaterThan(40);
    expect(result.allowed + result.denied).toBe(result.sent);
    expect(upgraded.map((pod) => pod.metadata?.uid)).not.toEqual(
      expect.arrayContaining(before.map((p) => p.metadata?.uid)),
    );
    expectNeverRestarted(upgraded);
    // Each answer came from AEGIS, which recorded its decision before answering.
    const recorded = await eventually(
      async () => {
        const n = await dryRunDecisionRecords();
        return n >= result.sent ? n : undefined;
      },
      `at least ${result.sent} admission.decision records of the dry runs`,
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    expect(recorded).toBeGreaterThanOrEqual(result.sent);
    client.agent.destroy();
  }, 360_000);

  it("serves /metrics on each pod, with one leader between them", async () => {
    const pods = await bothReady("both replicas Ready", 60_000);
    const texts = await eventually(
      async () => {
        const scraped = await Promise.all(pods.map((pod) => scrape(pod.status?.podIP ?? "")));
        const leaders = scraped.map((text) => metricValue(text, "aegis_leader") ?? 0);
        return leaders.reduce((a, b) => a + b, 0) === 1 ? scraped : undefined;
      },
      "exactly one replica to report aegis_leader 1",
      { timeoutMs: 30_000, intervalMs: 1000 },
    );
    for (const text of texts) {
      // Families are declared from the start; a counter's series appears with its first event.
      for (const family of [
        "aegis_admissions_total",
        "aegis_admission_duration_seconds",
        "aegis_evidence_database_up",
        "aegis_evidence_spool_depth",
        "aegis_leader",
        "aegis_leader_changes_total",
        "aegis_approval_requests",
        "aegis_bus_connected",
      ])
        expect(text, family).toMatch(new RegExp(`^# TYPE ${family} (counter|gauge|histogram)$`, "m"));
      expect(metricValue(text, "aegis_evidence_database_up")).toBe(1);
    }
    const admissions = texts.map((text) =>
      [...text.matchAll(/^aegis_admissions_total\{[^}]*\} ([0-9.]+)$/gm)].reduce((sum, m) => sum + Number(m[1]), 0),
    );
    note("admissions counted by the new pods since the upgrade", admissions.join(" + "));
    expect(admissions.reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });

  // The brief's memory figure in the cluster: both replicas' informer caches holding RSS_REQUESTS
  // ApprovalRequests (and the leader reconciling them: a status, an evidence record and an Event
  // each), against the pod's 256Mi limit. A figure, not a timed test (bench/README.md).
  it(
    `holds ${RSS_REQUESTS} ApprovalRequests under the 256Mi limit: RSS measured on the node, no OOMKill`,
    async () => {
      const started = Date.now();
      // Bounded by progress, not by a fixed time: a slow machine (two cores shared with the control
      // plane, the pod's 500m CPU limit) reconciles slower but still converges; a stall does not.
      const deadline = started + RSS_WAIT_CAP_MS;
      const pods = await bothReady("both replicas Ready", 60_000);
      expectNeverRestarted(pods);
      const before = await Promise.all(pods.map((pod) => memoryOf(pod)));
      printMemory(`before ${RSS_REQUESTS} ApprovalRequests`, before);
      const baseline = await Promise.all(
        pods.map(async (pod) => cachedRequests(await scrape(pod.status?.podIP ?? ""))),
      );
      const cpuBefore = await Promise.all(pods.map((pod) => cpuThrottling(pod)));
      const sampler = memorySampler(pods, 10_000);
      let client: ReturnType<typeof customObjectsAs> | undefined;
      try {
        await kubectl(["create", "namespace", RSS_NS]);
        await kubectl(["label", "namespace", RSS_NS, RSS_LABEL]);
        client = customObjectsAs(`system:serviceaccount:${NS}:${AEGIS_SERVICE_ACCOUNT}`);
        const created = await createApprovalRequests(client.api, RSS_REQUESTS, RSS_CONCURRENCY);
        const createMs = Date.now() - started;
        note(
          `${RSS_REQUESTS} ApprovalRequests created as AEGIS's ServiceAccount`,
          `${seconds(createMs)} (${RSS_CONCURRENCY} concurrent; ${created.created} created, ${created.existed} existed, ${created.retries} retried)`,
        );
        expect(created.failures, created.failures.slice(0, 5).join("\n")).toEqual([]);
        expect(created.created + created.existed).toBe(RSS_REQUESTS);

        // Each replica's informer cache holds them (aegis_approval_requests counts the cache).
        const cached = await eventually(
          async () => {
            const counts = await Promise.all(
              pods.map(async (pod) => cachedRequests(await scrape(pod.status?.podIP ?? ""))),
            );
            return counts.every((n, i) => n >= (baseline[i] ?? 0) + RSS_REQUESTS) ? counts : undefined;
          },
          `both replicas' caches to hold the ${RSS_REQUESTS} ApprovalRequests`,
          { timeoutMs: 120_000, intervalMs: 2000 },
        );
        const cachedMs = Date.now() - started;
        note("ApprovalRequests in each replica's cache", `${cached.join(", ")} after ${seconds(cachedMs)}`);
        const withCache = await Promise.all(pods.map((pod) => memoryOf(pod).catch(() => undefined)));
        const measured = (readings: (MemoryReading | undefined)[]): MemoryReading[] =>
          readings.filter((r): r is MemoryReading => r !== undefined);
        printMemory(`with ${RSS_REQUESTS} ApprovalRequests cached`, measured(withCache));

        // The leader converges each one (Pending: status, evidence, Event); wait for that, bounded,
        // and no longer once a replica restarted (an OOM kill shows in its lastState).
        const restarts = (list: V1Pod[]): number =>
          list.flatMap((pod) => pod.status?.containerStatuses ?? []).reduce((sum, c) => sum + c.restartCount, 0);
        let reconciled = await reconciledIn(RSS_NS);
        let progressedAt = Date.now();
        while (
          reconciled < RSS_REQUESTS &&
          Date.now() < deadline &&
          Date.now() - progressedAt < RSS_STALL_MS &&
          restarts(await releasePods()) === 0
        ) {
          await new Promise((resolve) => setTimeout(resolve, 3000));
          const count = await reconciledIn(RSS_NS);
          if (count > reconciled) progressedAt = Date.now();
          reconciled = count;
        }
        note("ApprovalRequests reconciled by the leader", `${reconciled} after ${seconds(Date.now() - started)}`);
        await sampler.stop();
        // Readings of the containers measured from the start (none for one that was replaced).
        const afterReconcile = await Promise.all(pods.map((pod) => memoryOf(pod).catch(() => undefined)));
        printMemory(`with ${RSS_REQUESTS} ApprovalRequests, ${reconciled} reconciled`, measured(afterReconcile));
        const cpuAfter = await Promise.all(pods.map((pod) => cpuThrottling(pod).catch(() => undefined)));
        const now = await releasePods();
        const leader = podOfHolder(await leaseHolder());

        const toMiB = (bytes: number | undefined): number | null =>
          bytes === undefined ? null : Math.round((bytes / 1024 / 1024) * 10) / 10;
        const rss = pods.map((_, i) =>
          Math.max(withCache[i]?.rssBytes ?? 0, afterReconcile[i]?.rssBytes ?? 0, sampler.peak[i] ?? 0),
        );
        console.log(
          JSON.stringify({
            bench: "in-cluster-rss",
            approvalRequests: RSS_REQUESTS,
            pods: pods.map((pod) => `${pod.metadata?.name}${pod.metadata?.name === leader ? " (leader)" : ""}`),
            rssMiB: rss.map(toMiB),
            rssMiBCached: withCache.map((r) => toMiB(r?.rssBytes)),
            rssMiBReconciled: afterReconcile.map((r) => toMiB(r?.rssBytes)),
            rssTraceMiBEvery10s: sampler.trace,
            processRssMiB: afterReconcile.map((r) => toMiB(r?.processRssBytes)),
            peakRssMiB: afterReconcile.map((r) => toMiB(r?.processPeakRssBytes)),
            processAnonMiB: afterReconcile.map((r) => toMiB(r?.processAnonBytes)),
            peakCgroupUsageMiB: afterReconcile.map((r) => toMiB(r?.peakBytes)),
            cgroupUsageMiB: afterReconcile.map((r) => toMiB(r?.usageBytes)),
            rssMiBBefore: before.map((r) => toMiB(r.rssBytes)),
            rssMiBBeforeUpgrade: memoryBeforeUpgrade.map((r) => toMiB(r.rssBytes)),
            ratioToLimit: rss.map((bytes) => Math.round((bytes / MEMORY_LIMIT_BYTES) * 100) / 100),
            growthOverBefore: rss.map((bytes, i) => Math.round((bytes / (before[i]?.rssBytes ?? bytes)) * 100) / 100),
            limitMiB: 256,
            reconciled,
            terminations: now.map((pod) => {
              const status = pod.status?.containerStatuses?.[0];
              return `${pod.metadata?.name}: ${status?.restartCount ?? "?"} restarts, last ${status?.lastState?.terminated?.reason ?? "none"}`;
            }),
            cpuThrottledPeriods: cpuAfter.map((c, i) =>
              c ? `${c.throttled - (cpuBefore[i]?.throttled ?? 0)}/${c.periods - (cpuBefore[i]?.periods ?? 0)}` : null,
            ),
            cpuThrottledSeconds: cpuAfter.map((c, i) =>
              c ? Math.round(c.throttledSeconds - (cpuBefore[i]?.throttledSeconds ?? 0)) : null,
            ),
            createSeconds: Math.round(createMs / 100) / 10,
            cachedSeconds: Math.round(cachedMs / 100) / 10,
          }),
        );

        expect(now.map((pod) => pod.metadata?.uid).sort()).toEqual(pods.map((pod) => pod.metadata?.uid).sort());
        expectNeverRestarted(now);
        if (RSS_REQUESTS <= RSS_MUST_RECONCILE)
          expect(reconciled, "ApprovalRequests the leader reconciled").toBe(RSS_REQUESTS);
        for (const pod of now) await expectNoOomKillOnNode(pod);
        for (const [i, pod] of pods.entries()) {
          const reading = afterReconcile[i];
          expect(reading, `${pod.metadata?.name}: the container measured from the start`).toBeDefined();
          if (!reading) continue;
          expect(reading.limitBytes, reading.pod).toBe(MEMORY_LIMIT_BYTES);
          // What the kernel holds against the limit: the cgroup's anonymous memory and its peak
          // charge (page cache included). VmRSS/VmHWM are printed, not asserted: they count the
          // node binary's file pages, which are shared page cache, evictable, and charged once.
          expect(rss[i], `${reading.pod} RSS (cgroup)`).toBeLessThan(MEMORY_LIMIT_BYTES);
          expect(reading.peakBytes, `${reading.pod} peak cgroup usage`).toBeLessThan(MEMORY_LIMIT_BYTES);
          expect(reading.processAnonBytes, `${reading.pod} RssAnon`).toBeLessThan(MEMORY_LIMIT_BYTES);
        }
      } finally {
        await sampler.stop().catch(() => undefined);
        await client?.close().catch(() => undefined);
        await kubectl(["delete", "namespace", RSS_NS, "--ignore-not-found", "--wait=false"], { allowFail: true });
      }
    },
    RSS_WAIT_CAP_MS + 60_000,
  );

  it("the pods stayed under their 256Mi limit and were never OOMKilled (measured on the node)", async () => {
    const pods = await releasePods();
    expectNeverRestarted(pods);
    const readings = await Promise.all(pods.map((pod) => memoryOf(pod)));
    printMemory("at the end", readings);
    for (const reading of readings) {
      expect(reading.limitBytes).toBe(MEMORY_LIMIT_BYTES);
      // The cgroup's peak charge and the process's private memory (see the ApprovalRequests test).
      expect(reading.peakBytes, `${reading.pod} peak cgroup usage`).toBeLessThan(MEMORY_LIMIT_BYTES);
      expect(reading.processAnonBytes, `${reading.pod} RssAnon`).toBeLessThan(MEMORY_LIMIT_BYTES);
      expect(reading.rssBytes).toBeGreaterThan(0);
    }
    // The kernel's own record: no OOM kill in either container's cgroup.
    for (const pod of pods) {
      const onNode = await containerOnNode(pod);
      if (onNode.cgroupVersion === 1)
        expect(await readText(path.join(onNode.memoryDir, "memory.failcnt")), pod.metadata?.name).toBe("0");
      else expect(await readText(path.join(onNode.memoryDir, "memory.events"))).toMatch(/^oom_kill 0$/m);
    }
  });

  it("helm uninstall leaves no webhook configuration behind: gated changes go through again", async () => {
    const started = Date.now();
    const uninstall = await helm(["uninstall", RELEASE, "-n", NS, "--wait", "--timeout", "120s"]);
    expect(uninstall.code, uninstall.stderr).toBe(0);
    uninstalled = true;
    note("helm uninstall (cleanup hook included)", seconds(Date.now() - started));
    expect((await kubectl(["get", "validatingwebhookconfiguration", "aegis"], { allowFail: true })).code).not.toBe(0);
    // The policy is still there; with AEGIS gone, nothing gates (no locked cluster).
    const applied = await applyAsDev(deployment(APP_NS, "web", "ghcr.io/acme/web:3.0"));
    expect(applied.code, applied.stderr).toBe(0);
    await eventually(
      async () => ((await releasePods()).length === 0 ? true : undefined),
      "the release's pods to be gone",
      { timeoutMs: 60_000 },
    );
  }, 180_000);
});
