// Self-healing end to end on the local cluster's real node (scripts/lib/node.sh): the kubelet runs
// the Deployments' busybox pods, so the crash loops (restartCount, CrashLoopBackOff), the OOM kill,
// and the progress deadline an image missing from the node makes a rollout exceed are the
// kubelet's, the kernel's and the Deployment controller's own. Nothing here writes a status; a
// watch (helpers/observed.ts) keeps what those components wrote, and who wrote it, so each
// action is shown to answer what really happened. First the reconciler runs in this process with
// the real kube adapters and a real evidence ledger (embedded PostgreSQL); then the same story
// runs through `aegis serve` (the gate, AEGIS's own service account and RBAC, the approval flow).
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import path from "node:path";
import { CoreV1Api } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKubeCaches, type KubeCaches } from "../src/adapters/kube/caches.js";
import { compilePolicy, type CompiledPolicy } from "../src/policy/index.js";
import { createWorkloadCaches, KubeWorkloadActions, type WorkloadCaches } from "../src/adapters/kube/workloads.js";
import { computeChangeHash, RESTARTED_AT_ANNOTATION } from "../src/changehash/index.js";
import { generateSigningKey } from "../src/evidence/chain/signing.js";
import type { EvidenceLedger } from "../src/evidence/ledger.js";
import { createEvidenceLedger } from "../src/wiring/ledger.js";
import { openPgliteDatabase } from "../src/evidence/store/pglite-database.js";
import type { SqlDatabase } from "../src/evidence/store/sql-database.js";
import { AegisMetrics } from "../src/observability/metrics.js";
import { buildSelfHealingController } from "../src/reconcilers/self-healing-controller.js";
import { openBreakers, workloadViews } from "../src/reconcilers/self-healing.js";
import type { Controller } from "../src/runtime/controller.js";
import { silentLogger } from "../src/ports/logger.js";
import {
  anyApprovals,
  approvalRequestApprovals,
  evidenceApprovals,
  HISTORY_ANNOTATION,
  parseHistory,
  type HistoryEntry,
} from "../src/selfhealing/index.js";
import { removeWebhookConfiguration, startAegisProcess, type RunningAegisProcess } from "./helpers/aegis.js";
import { eventually, kubeConfig, kubectl } from "./helpers/kube.js";
import { ClusterObserver, type ObservedPod } from "./helpers/observed.js";
import { e2eTempDir } from "./helpers/tmp.js";

const NODE = "aegis-node";
const TAINT_KEY = "aegis.valina.ai/real-node";
const BUSYBOX_PREFIX = "localhost/aegis-busybox:";
/** Not on the node: the kubelet's pull fails (ErrImagePull), nothing is fetched from a registry. */
const MISSING_IMAGE = "localhost/aegis-busybox:missing";
const RUN_LABEL = "aegis.valina.ai/e2e-self-healing";
const AEGIS = "system:serviceaccount:aegis-system:aegis-sa";

const run = randomBytes(3).toString("hex");
const ns = { crash: `heal-${run}`, rollout: `heal-${run}-ro`, oom: `heal-${run}-oom`, dry: `heal-${run}-dry` };
const policies = {
  crash: `${ns.crash}-heal`,
  rollout: `${ns.rollout}-heal`,
  oom: `${ns.oom}-heal`,
  dry: `${ns.dry}-heal`,
};
// Any CrashLoopBackOff counts whatever minRestarts says; 2 keeps a looping container's restart
// count (back-off 10 s, 20 s, …) from deciding alone.
const healing = {
  restartOnCrashLoop: { enabled: true, minRestarts: 2, maxActionsPerHour: 1 },
  rollbackOnFailedRollout: { enabled: true, maxActionsPerHour: 1 },
};
const restartOnly = { restartOnCrashLoop: healing.restartOnCrashLoop };

/** A version of the workload: what its one container runs. */
interface Version {
  readonly script: string;
  readonly image?: string;
  readonly memoryLimit?: string;
}
const HEALTHY: Version = { script: "echo serving; exec sleep 3600" };
const CRASHING: Version = { script: "echo 'v2: cannot start'; exit 1" };
const CRASHING_AGAIN: Version = { script: "echo 'v3: cannot start either'; exit 3" };
const MISSING: Version = { script: "exec sleep 3600", image: MISSING_IMAGE };
// The limit, then far more than it: tail keeps the whole "line" of zeros in memory.
const OOM: Version = { script: "head -c 200000000 /dev/zero | tail", memoryLimit: "32Mi" };

let busybox = "";
const observer = new ClusterObserver(kubeConfig(), `${RUN_LABEL}=${run}`);

/** The busybox image `cluster.sh up` imported, as the kubelet reports it. */
async function busyboxImage(): Promise<string> {
  const node = await kubeConfig().makeApiClient(CoreV1Api).readNode({ name: NODE });
  const names = (node.status?.images ?? []).flatMap((image) => image.names ?? []);
  const image = names.find((name) => name.startsWith(BUSYBOX_PREFIX));
  if (!image) throw new Error(`Node ${NODE} has no ${BUSYBOX_PREFIX}… image (it has ${names.join(", ")})`);
  return image;
}

function deployment(namespace: string, version: Version, extra: Record<string, unknown> = {}): string {
  const labels = { app: "web", [RUN_LABEL]: run };
  const container = {
    name: "web",
    image: version.image ?? busybox,
    // IfNotPresent makes the kubelet try (and fail) to pull the missing image.
    imagePullPolicy: version.image ? "IfNotPresent" : "Never",
    command: ["sh", "-c", version.script],
    ...(version.memoryLimit ? { resources: { limits: { memory: version.memoryLimit } } } : {}),
  };
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace, labels },
    spec: {
      replicas: 1,
      // As real workloads have it (or a readiness probe): without it, a container that exits at once
      // is Running and Ready for an instant, the Deployment controller counts its pod available,
      // completes the rollout and stops the approved revision's pod (which also looks like recovery).
      minReadySeconds: 5,
      selector: { matchLabels: { app: "web" } },
      template: {
        metadata: { labels },
        spec: {
          terminationGracePeriodSeconds: 1,
          tolerations: [{ key: TAINT_KEY, operator: "Exists", effect: "NoSchedule" }],
          containers: [container],
        },
      },
      ...extra,
    },
  });
}

function policy(name: string, namespace: string, selfHealing: Record<string, unknown>): string {
  return JSON.stringify({
    apiVersion: "aegis.valina.ai/v1alpha1",
    kind: "AegisPolicy",
    metadata: { name },
    spec: { match: { kinds: ["Deployment"], namespaces: [namespace] }, selfHealing },
  });
}

interface Json {
  metadata: {
    name: string;
    uid: string;
    annotations?: Record<string, string>;
    ownerReferences?: { name: string }[];
    deletionTimestamp?: string;
  };
  spec: {
    template: {
      metadata?: { annotations?: Record<string, string> };
      spec: { containers: { image: string; command?: string[] }[] };
    };
  };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

async function getJson<T = Json>(namespace: string, ...args: string[]): Promise<T> {
  return JSON.parse((await kubectl(["get", ...args, "-n", namespace, "-o", "json"])).stdout) as T;
}

const apply = (json: string, as: { as?: string; asGroups?: string[] } = {}) =>
  kubectl(["apply", "-f", "-"], { ...as, input: json });

/** What the Deployment's container runs now. */
async function running(namespace: string): Promise<{ image: string | undefined; script: string | undefined }> {
  const container = (await getJson(namespace, "deployment", "web")).spec.template.spec.containers[0];
  return { image: container?.image, script: container?.command?.[2] };
}

async function history(namespace: string): Promise<HistoryEntry[]> {
  return parseHistory((await getJson(namespace, "deployment", "web")).metadata.annotations?.[HISTORY_ANNOTATION]);
}

const actions = async (namespace: string): Promise<string[]> => (await history(namespace)).map((e) => e.action);

/** The healing history once it holds `count` entries of `action`. */
async function historyWith(
  namespace: string,
  action: HistoryEntry["action"],
  { count = 1, timeoutMs = 120_000 }: { count?: number; timeoutMs?: number } = {},
): Promise<HistoryEntry[]> {
  return eventually(
    async () => {
      const entries = await history(namespace);
      return entries.filter((e) => e.action === action).length >= count ? entries : undefined;
    },
    `${count} ${action} in ${namespace}'s healing history`,
    { timeoutMs, intervalMs: 500 },
  );
}

async function rolledOut(namespace: string): Promise<void> {
  await kubectl(["rollout", "status", "deployment/web", "-n", namespace, "--timeout=120s"]);
}

async function namespaceReady(namespace: string): Promise<void> {
  await kubectl(["create", "namespace", namespace]);
  // Pods need the namespace's default ServiceAccount, which kube-controller-manager creates.
  await eventually(
    async () =>
      (await kubectl(["get", "serviceaccount", "default", "-n", namespace], { allowFail: true })).code === 0
        ? true
        : undefined,
    `the default ServiceAccount in ${namespace}`,
  );
}

interface ReplicaSetJson extends Json {
  metadata: Json["metadata"] & { annotations?: Record<string, string> };
}

/** The ReplicaSet `kubectl rollout restart` (or the healer's restart) stamped at `at`. */
async function replicaSetRestartedAt(namespace: string, at: string): Promise<ReplicaSetJson | undefined> {
  const sets = (await getJson<{ items: ReplicaSetJson[] }>(namespace, "replicasets")).items;
  return sets.find((rs) => rs.spec.template.metadata?.annotations?.[RESTARTED_AT_ANNOTATION] === at);
}

interface EventJson {
  reason: string;
  message: string;
  type: string;
  involvedObject: { name: string; kind: string };
}

async function deploymentEvents(namespace: string): Promise<EventJson[]> {
  return (await getJson<{ items: EventJson[] }>(namespace, "events")).items.filter(
    (e) => e.involvedObject.kind === "Deployment" && e.involvedObject.name === "web",
  );
}

async function waitForEvent(namespace: string, reason: string): Promise<EventJson> {
  return eventually(
    async () => (await deploymentEvents(namespace)).find((e) => e.reason === reason),
    `a ${reason} Event in ${namespace}`,
  );
}

/** The pods a symptom's detail names: `web-…-… (3 restarts, CrashLoopBackOff, last Error exit 1)`. */
function podsNamedIn(detail: string): string[] {
  return [...detail.matchAll(/([a-z0-9-]+) \(\d+ restarts/g)].map((match) => match[1] ?? "");
}

/**
 * The pods a step named, each as the watch saw it: the kubelet alone wrote their container
 * statuses, and they really crash-looped (or were OOM-killed) the way the step says.
 */
function crashedPods(namespace: string, detail: string): ObservedPod[] {
  const names = podsNamedIn(detail);
  expect(names.length).toBeGreaterThan(0);
  return names.map((name) => {
    const pod = observer.pod(namespace, name);
    if (!pod) throw new Error(`the watch never saw pod ${namespace}/${name}, which "${detail}" names`);
    expect([...pod.containerStatusWriters]).toEqual(["kubelet"]);
    expect(pod.waiting.has("CrashLoopBackOff") || pod.restarts >= healing.restartOnCrashLoop.minRestarts).toBe(true);
    return pod;
  });
}

interface Recorded {
  id: string;
  data: Record<string, unknown> & { action?: string; detail?: string; symptom?: Record<string, unknown> };
}

async function healingRecords(namespace: string): Promise<Recorded[]> {
  const { rows } = await db.query(
    "SELECT id, data FROM evidence_records WHERE type = 'selfhealing.action' AND subject = $1 ORDER BY seq",
    [`Deployment/${namespace}/web`],
  );
  return rows.map((row) => ({
    id: String(row["id"]),
    data: (typeof row["data"] === "string" ? JSON.parse(row["data"]) : row["data"]) as Recorded["data"],
  }));
}

async function recordOf(namespace: string, action: string): Promise<Recorded> {
  return eventually(
    async () => (await healingRecords(namespace)).find((r) => r.data.action === action),
    `the ${action} record of ${namespace}`,
  );
}

/** An Approved ApprovalRequest, as the approval flow would have left it. */
async function approveByRequest(namespace: string, changeHash: string, policyName: string): Promise<void> {
  const name = `deployment-web-${changeHash.slice(7, 17)}`;
  const spec = {
    target: { apiVersion: "apps/v1", kind: "Deployment", namespace, name: "web" },
    changeHash,
    policies: [policyName],
    requester: { username: "dev", groups: ["developers"] },
    risk: { score: 10, factors: [] },
    decisions: [{ user: "alice", decision: "Approve", comment: "ok", at: new Date().toISOString(), via: "kubectl" }],
  };
  await apply(
    JSON.stringify({
      apiVersion: "aegis.valina.ai/v1alpha1",
      kind: "ApprovalRequest",
      metadata: { name, namespace },
      spec,
    }),
  );
  await kubectl([
    "patch",
    "areq",
    name,
    "-n",
    namespace,
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify({ status: { phase: "Approved", approvals: 1, requiredApprovals: 1 } }),
  ]);
}

/** The uid of the one Running pod of the Deployment. */
async function servingPod(namespace: string): Promise<string> {
  const pods = (await getJson<{ items: Json[] }>(namespace, "pods")).items;
  const ready = pods.filter(
    (pod) =>
      !pod.metadata.deletionTimestamp &&
      pod.status?.phase === "Running" &&
      pod.status.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
  );
  if (ready.length !== 1) throw new Error(`expected one ready pod in ${namespace}, found ${ready.length}`);
  return ready[0]?.metadata.uid ?? "";
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  busybox = await busyboxImage();
  await observer.start();
});

afterAll(() => observer.stop());

const metrics = new AegisMetrics({ defaultMetrics: false });
let dataDir = "";
let db: SqlDatabase;
let ledger: EvidenceLedger;
let caches: KubeCaches<CompiledPolicy>;
let workloads: WorkloadCaches;
let controller: Controller;
const approved = { crash: "", rollout: "" };
/** The approved revision's pod, running before the broken version was applied. */
const approvedPod = { crash: "", rollout: "" };
/** When the broken rollout was applied. */
let missingAppliedAt = 0;

describe("the healer running in this process (real kube adapters, real ledger, real pods)", () => {
  beforeAll(async () => {
    await removeWebhookConfiguration();
    dataDir = await e2eTempDir("aegis-heal-");
    db = await openPgliteDatabase(path.join(dataDir, "pglite"));
    ledger = await createEvidenceLedger(db, generateSigningKey(), { dataDir, closeDatabase: false });
    await Promise.all(Object.values(ns).map(namespaceReady));
    await apply(policy(policies.crash, ns.crash, healing));
    await apply(policy(policies.rollout, ns.rollout, healing));
    await apply(policy(policies.oom, ns.oom, restartOnly));
    await apply(policy(policies.dry, ns.dry, { ...healing, dryRun: true }));
    await Promise.all([prepareCrashLoopScenario(), prepareRolloutScenario()]);
    await startHealer();
    // The healer watches each break from the start; the scenarios run side by side.
    await apply(deployment(ns.crash, CRASHING));
    missingAppliedAt = Date.now();
    await apply(deployment(ns.rollout, MISSING, { progressDeadlineSeconds: 10 }));
    await apply(deployment(ns.oom, OOM));
    await apply(deployment(ns.dry, CRASHING));
  }, 240_000);

  /** Revision 1 running and approved through an ApprovalRequest. */
  async function prepareCrashLoopScenario(): Promise<void> {
    await apply(deployment(ns.crash, HEALTHY));
    await rolledOut(ns.crash);
    approvedPod.crash = await servingPod(ns.crash);
    approved.crash = computeChangeHash(await getJson(ns.crash, "deployment", "web"));
    await approveByRequest(ns.crash, approved.crash, policies.crash);
  }

  /** Revision 1 running and approved only in the evidence ledger (its request long deleted). */
  async function prepareRolloutScenario(): Promise<void> {
    await apply(deployment(ns.rollout, HEALTHY, { progressDeadlineSeconds: 10 }));
    await rolledOut(ns.rollout);
    approvedPod.rollout = await servingPod(ns.rollout);
    approved.rollout = computeChangeHash(await getJson(ns.rollout, "deployment", "web"));
    await ledger.record({
      type: "admission.decision",
      subject: `Deployment/${ns.rollout}/web`,
      actor: "dev",
      data: { operation: "UPDATE", allowed: true, reason: "Approved", changeHash: approved.rollout },
    });
  }

  async function startHealer(): Promise<void> {
    const kc = kubeConfig();
    caches = createKubeCaches(kc, silentLogger, compilePolicy);
    workloads = createWorkloadCaches(kc, silentLogger);
    [...caches.informers, ...workloads.informers].forEach((informer) => informer.start());
    await eventually(
      () =>
        Promise.resolve(
          caches.hasSynced() &&
            workloads.hasSynced() &&
            Object.values(policies).every((name) => caches.policies.get(name))
            ? true
            : undefined,
        ),
      "caches to sync",
    );
    const views = workloadViews(workloads.source);
    controller = buildSelfHealingController(
      {
        logger: silentLogger,
        deps: {
          workloads: views,
          actions: new KubeWorkloadActions(kc, "e2e"),
          policies: caches.policies,
          namespaceLabels: caches.namespaceLabels,
          approved: anyApprovals([approvalRequestApprovals(caches.approvals), evidenceApprovals(ledger.store)]),
          evidence: ledger,
          metrics: { inc: (labels) => metrics.selfHealingActions.inc(labels) },
          now: () => new Date(),
          actor: AEGIS,
          tuning: {
            baseBackoffMs: 2_000,
            maxBackoffMs: 8_000,
            unavailableAfterMs: 3_600_000,
            stuckPodAfterMs: 3_600_000,
          },
        },
      },
      workloads,
    );
    // As wiring/controllers.ts does, over this run's Deployments only.
    metrics.observeSelfHealingBreakers(() =>
      openBreakers(
        workloads.deploymentKeys().filter((key) => key.startsWith(`heal-${run}`)),
        { workloads: views, policies: caches.policies, namespaceLabels: caches.namespaceLabels },
      ),
    );
    workloads.onDeploymentChange((key) => controller.enqueue(key));
    caches.onChange(() => workloads.deploymentKeys().forEach((key) => controller.enqueue(key)));
    controller.start();
  }

  const breakerOpen = (namespace: string): number =>
    openBreakers([`${namespace}/web`], {
      workloads: workloadViews(workloads.source),
      policies: caches.policies,
      namespaceLabels: caches.namespaceLabels,
    });

  afterAll(async () => {
    await controller?.stop();
    await Promise.all(
      [...(caches?.informers ?? []), ...(workloads?.informers ?? [])].map((informer) => informer.stop()),
    );
    await ledger?.close();
    await db?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    await kubectl(["delete", "apol", ...Object.values(policies), "--ignore-not-found"], { allowFail: true });
    for (const namespace of Object.values(ns))
      await kubectl(["delete", "namespace", namespace, "--wait=false"], { allowFail: true });
  });

  describe("a new version that really crash-loops", () => {
    it("is restarted once the kubelet reports it in CrashLoopBackOff", async () => {
      const [restart] = await historyWith(ns.crash, "restart");
      expect(restart).toMatchObject({ action: "restart", reason: "CrashLoop" });
      const record = await recordOf(ns.crash, "restart");
      expect(record.data.symptom).toMatchObject({ kind: "CrashLoop" });
      const detail = String(record.data.symptom?.["detail"]);
      expect(detail).toMatch(/last Error exit 1/);
      for (const pod of crashedPods(ns.crash, detail)) expect(pod.terminated).toContain("Error exit 1");
      // The restart is `kubectl rollout restart`: a new ReplicaSet of the same (broken) template, new pods.
      const restarted = await eventually(
        () => replicaSetRestartedAt(ns.crash, restart?.at ?? ""),
        "the ReplicaSet of the restart",
      );
      expect(restarted.spec.template.spec.containers[0]?.command?.[2]).toBe(CRASHING.script);
      const newPods = await eventually(() => {
        const pods = observer.podsIn(ns.crash).filter((pod) => pod.replicaSet === restarted.metadata.name);
        return Promise.resolve(pods.length > 0 ? pods : undefined);
      }, "a pod of the restarted ReplicaSet");
      expect(newPods.map((p) => p.name)).not.toContain(podsNamedIn(detail)[0]);
      expect((await waitForEvent(ns.crash, "SelfHealingRestart")).type).toBe("Warning");
    }, 180_000);

    it("is rolled back to the last approved revision when the restarted pods crash-loop too", async () => {
      const entries = await historyWith(ns.crash, "rollback");
      expect(entries.map((e) => e.action).slice(0, 2)).toEqual(["restart", "rollback"]);
      const rollback = await recordOf(ns.crash, "rollback");
      expect(rollback.data).toMatchObject({
        rollbackTo: { changeHash: approved.crash },
        policy: policies.crash,
        dryRun: false,
      });
      // What the rollback answered: pods of the restarted ReplicaSet, crashing on the node.
      const restart = entries[0];
      const restarted = await replicaSetRestartedAt(ns.crash, restart?.at ?? "");
      const crashed = crashedPods(ns.crash, String(rollback.data.symptom?.["detail"]));
      expect(crashed.map((pod) => pod.replicaSet)).toEqual(crashed.map(() => restarted?.metadata.name));
      expect(await running(ns.crash)).toEqual({ image: busybox, script: HEALTHY.script });
      expect(computeChangeHash(await getJson(ns.crash, "deployment", "web"))).toBe(approved.crash);
      await waitForEvent(ns.crash, "SelfHealingRollback");
    }, 180_000);

    it("recovers on the approved revision, whose pod served all along", async () => {
      await historyWith(ns.crash, "recovered");
      expect(await actions(ns.crash)).toEqual(["restart", "rollback", "recovered"]);
      await rolledOut(ns.crash);
      // maxUnavailable 0: the approved revision's pod was never stopped for the broken ones.
      expect(await servingPod(ns.crash)).toBe(approvedPod.crash);
      expect((await waitForEvent(ns.crash, "SelfHealingRecovered")).type).toBe("Normal");
    });

    it("opens the breaker when the next broken version crash-loops with the hour's budget spent, and acts no more", async () => {
      await apply(deployment(ns.crash, CRASHING_AGAIN));
      const entries = await historyWith(ns.crash, "escalate");
      expect(entries.map((e) => e.action)).toEqual(["restart", "rollback", "recovered", "escalate"]);
      expect(entries[3]).toMatchObject({ reason: "BudgetExhausted" });
      expect(entries[3]?.detail).toMatch(/restart budget of 1\/hour is used up/);
      expect((await waitForEvent(ns.crash, "SelfHealingEscalated")).message).toMatch(/a human must act/);
      const escalation = await recordOf(ns.crash, "escalate");
      for (const pod of crashedPods(ns.crash, String(escalation.data.symptom?.["detail"])))
        expect(pod.terminated).toContain("Error exit 3");
      expect(breakerOpen(ns.crash)).toBe(1);
      // The kubelet keeps restarting the container (each a reconcile), the healer does nothing.
      const before = await healingRecords(ns.crash);
      await sleep(8_000);
      expect(await actions(ns.crash)).toEqual(["restart", "rollback", "recovered", "escalate"]);
      expect(await healingRecords(ns.crash)).toEqual(before);
      expect(await running(ns.crash)).toEqual({ image: busybox, script: CRASHING_AGAIN.script });
      expect(await servingPod(ns.crash)).toBe(approvedPod.crash);
    }, 180_000);

    it("closes the breaker once a human has made the Deployment healthy again", async () => {
      await apply(deployment(ns.crash, HEALTHY));
      await historyWith(ns.crash, "recovered", { count: 2 });
      expect(await actions(ns.crash)).toEqual(["restart", "rollback", "recovered", "escalate", "recovered"]);
      expect(breakerOpen(ns.crash)).toBe(0);
      const records = await healingRecords(ns.crash);
      expect(records.map((r) => r.data.action)).toEqual(["restart", "rollback", "recovered", "escalate", "recovered"]);
      expect(new Set(records.map((r) => r.id)).size).toBe(records.length);
    });
  });

  describe("a rollout that really exceeds its progress deadline", () => {
    it("is rolled back to the revision the evidence ledger shows approved", async () => {
      const [rollback] = await historyWith(ns.rollout, "rollback");
      expect(rollback).toMatchObject({ action: "rollback", reason: "FailedRollout" });
      // The kubelet could not pull the image; the Deployment controller gave up after 10 s.
      const stuck = observer.podsIn(ns.rollout).filter((pod) => pod.uid !== approvedPod.rollout);
      expect(stuck.length).toBeGreaterThan(0);
      for (const pod of stuck) {
        expect([...pod.waiting].some((reason) => ["ErrImagePull", "ImagePullBackOff"].includes(reason))).toBe(true);
        expect(pod.restarts).toBe(0);
      }
      const exceeded = observer
        .conditions(ns.rollout, "web")
        .find((c) => c.type === "Progressing" && c.status === "False");
      expect(exceeded).toMatchObject({ reason: "ProgressDeadlineExceeded", writers: ["kube-controller-manager"] });
      const rolledBackAt = Date.parse(rollback?.at ?? "");
      expect(rolledBackAt).toBeGreaterThanOrEqual(Date.parse(exceeded?.lastTransitionTime ?? ""));
      expect(rolledBackAt - missingAppliedAt).toBeGreaterThanOrEqual(10_000);
      const record = await recordOf(ns.rollout, "rollback");
      expect(record.data).toMatchObject({
        rollbackTo: { changeHash: approved.rollout },
        symptom: { kind: "FailedRollout" },
      });
      expect(await running(ns.rollout)).toEqual({ image: busybox, script: HEALTHY.script });
    }, 180_000);

    it("then recovers, and the approved revision's pod never stopped", async () => {
      await historyWith(ns.rollout, "recovered");
      expect(await actions(ns.rollout)).toEqual(["rollback", "recovered"]);
      await rolledOut(ns.rollout);
      expect(await servingPod(ns.rollout)).toBe(approvedPod.rollout);
      expect(computeChangeHash(await getJson(ns.rollout, "deployment", "web"))).toBe(approved.rollout);
    });
  });

  describe("a container the kernel OOM-kills", () => {
    it("is reported with the restart, and again when the breaker opens because restarting gave it no memory", async () => {
      const entries = await historyWith(ns.oom, "escalate");
      expect(entries.map((e) => e.action)).toEqual(["restart", "escalate"]);
      expect(entries[1]).toMatchObject({ reason: "NothingHelped" });
      const records = await healingRecords(ns.oom);
      expect(records.map((r) => r.data.action)).toEqual(["restart", "escalate"]);
      for (const record of records) {
        const oomKilled = record.data.symptom?.["oomKilled"] as string[] | undefined;
        expect(oomKilled?.length).toBeGreaterThan(0);
        const pods = crashedPods(ns.oom, String(record.data.symptom?.["detail"]));
        expect(oomKilled).toEqual(pods.map((pod) => `${pod.name}/web`));
        for (const pod of pods) expect(pod.terminated).toContain("OOMKilled exit 137");
      }
      // The restart and the escalation named different pods: the restart made new ones, which the kernel killed too.
      const [restarted, escalated] = records.map((r) => podsNamedIn(String(r.data.symptom?.["detail"])));
      expect(restarted).not.toEqual(escalated);
      const events = await deploymentEvents(ns.oom);
      for (const reason of ["SelfHealingRestart", "SelfHealingEscalated"])
        expect(events.find((e) => e.reason === reason)?.message).toMatch(/OOMKilled by the kernel/);
    }, 180_000);
  });

  describe("dry-run mode", () => {
    it("records and announces what it would do about a real crash loop, once, and changes nothing", async () => {
      const event = await waitForEvent(ns.dry, "SelfHealingRestart");
      expect(event.message).toMatch(/^\[dry run\] would restart/);
      const records = await healingRecords(ns.dry);
      expect(records).toHaveLength(1);
      expect(records[0]?.data).toMatchObject({ action: "restart", dryRun: true });
      crashedPods(ns.dry, String(records[0]?.data.detail));
      expect(await history(ns.dry)).toEqual([]);
      expect(
        (await getJson(ns.dry, "deployment", "web")).spec.template.metadata?.annotations?.[RESTARTED_AT_ANNOTATION],
      ).toBeUndefined();
    });
  });

  it("counts every step it took in its metrics, and the one breaker still open", async () => {
    // By now every scenario has reached its end; the dry run's pod has kept crashing meanwhile.
    expect(await healingRecords(ns.dry)).toHaveLength(1);
    const text = await metrics.registry.metrics();
    const count = (action: string, result: string): number =>
      Number(
        new RegExp(`aegis_selfhealing_actions_total\\{action="${action}",result="${result}"\\} (\\d+)`).exec(
          text,
        )?.[1] ?? 0,
      );
    expect({
      restart: count("restart", "done"),
      rollback: count("rollback", "done"),
      recovered: count("recovered", "done"),
      escalate: count("escalate", "breaker-open"),
      dryRun: count("restart", "dry-run"),
    }).toEqual({ restart: 2, rollback: 2, recovered: 3, escalate: 2, dryRun: 1 });
    // The OOM-killed Deployment's breaker: the crash-looping one's was closed by the human.
    expect(text).toMatch(/^aegis_selfhealing_breaker_open 1$/m);
  });
});

// The same story through `aegis serve`: the gate admits AEGIS's restart and its rollback to the
// approved revision, under AEGIS's own service account and RBAC; versions are approved through
// the approval flow. aegis serve is given AEGIS_HEALING_BASE_BACKOFF_MS=2000.
describe("the healer in aegis serve, on real pods", () => {
  const serveNs = `heal-${run}-serve`;
  const servePolicy = `${serveNs}-heal`;
  const dev = { as: "dev", asGroups: ["developers"] };
  const alice = { as: "alice", asGroups: ["sre-leads"] };
  let aegis: RunningAegisProcess;

  async function approvedApply(version: Version): Promise<void> {
    const input = deployment(serveNs, version);
    const denied = await kubectl(["apply", "-f", "-"], { ...dev, input, allowFail: true });
    const name = /ApprovalRequest [^/]+\/(\S+) is/.exec(denied.stderr)?.[1];
    if (!name) throw new Error(`expected a denial naming an ApprovalRequest: ${denied.stderr}`);
    await eventually(
      async () =>
        (await kubectl(["aegis", "approve", name, "-n", serveNs], { ...alice, allowFail: true })).code === 0
          ? true
          : undefined,
      `approval of ${name}`,
    );
    await eventually(
      async () =>
        (await kubectl(["apply", "-f", "-"], { ...dev, input, allowFail: true })).code === 0 ? true : undefined,
      "admission after approval",
    );
  }

  beforeAll(async () => {
    await namespaceReady(serveNs);
    await kubectl(["create", "rolebinding", "dev-edit", "--clusterrole=edit", "--group=developers", "-n", serveNs]);
    aegis = await startAegisProcess({ env: { AEGIS_HEALING_BASE_BACKOFF_MS: "2000" } });
    await kubectl(
      ["create", "rolebinding", "approvers", "--clusterrole=aegis-approver", "--group=sre-leads", "-n", serveNs],
      { allowFail: true },
    );
    const spec = {
      match: { kinds: ["Deployment"], namespaces: [serveNs] },
      approval: { mode: "Always", approvers: { groups: ["sre-leads"] } },
      selfHealing: healing,
    };
    await apply(
      JSON.stringify({
        apiVersion: "aegis.valina.ai/v1alpha1",
        kind: "AegisPolicy",
        metadata: { name: servePolicy },
        spec,
      }),
    );
    await eventually(
      async () =>
        (await kubectl(["get", "apol", servePolicy, "-o", "jsonpath={.status.conditions[0].status}"])).stdout === "True"
          ? true
          : undefined,
      "the policy to be Ready",
    );
  }, 180_000);

  afterAll(async () => {
    await removeWebhookConfiguration();
    await aegis?.stop();
    await kubectl(["delete", "apol", servePolicy, "--ignore-not-found"], { allowFail: true });
    // Waits for the kubelet to stop the pods, so the next suite finds the node empty.
    await kubectl(["delete", "namespace", serveNs, "--ignore-not-found", "--timeout=90s"], { allowFail: true });
    for (const namespace of Object.values(ns))
      await kubectl(["wait", "--for=delete", `namespace/${namespace}`, "--timeout=60s"], { allowFail: true });
  });

  it("restarts a real crash loop, rolls back through the gate to the approved revision, and opens the breaker on the next", async () => {
    await approvedApply(HEALTHY);
    await rolledOut(serveNs);
    const v1 = computeChangeHash(await getJson(serveNs, "deployment", "web"));
    await approvedApply(CRASHING);
    await historyWith(serveNs, "rollback");
    expect(await running(serveNs)).toEqual({ image: busybox, script: HEALTHY.script });
    expect(computeChangeHash(await getJson(serveNs, "deployment", "web"))).toBe(v1);
    await historyWith(serveNs, "recovered");
    await approvedApply(CRASHING_AGAIN);
    const entries = await historyWith(serveNs, "escalate");
    expect(entries.map((e) => e.action)).toEqual(["restart", "rollback", "recovered", "escalate"]);
    expect(entries[3]).toMatchObject({ reason: "BudgetExhausted" });
    const events = await deploymentEvents(serveNs);
    const byReason = (reason: string): EventJson | undefined => events.find((e) => e.reason === reason);
    expect(byReason("SelfHealingRestart")?.message).toMatch(/last Error exit 1/);
    for (const reason of ["SelfHealingRestart", "SelfHealingRollback"]) {
      const message = byReason(reason)?.message ?? "";
      for (const pod of crashedPods(serveNs, message)) expect(pod.terminated).toContain("Error exit 1");
    }
    expect(byReason("SelfHealingEscalated")?.message).toMatch(/a human must act/);
  }, 300_000);
});
