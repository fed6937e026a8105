// Self-healing end to end against the real kube-apiserver and kube-controller-manager: the
// reconciler runs in this process with the real kube adapters and a real evidence ledger
// (embedded PostgreSQL). There is no kubelet, so crash loops are reported through the pods'
// status subresource; failed rollouts are the Deployment controller's own (progressDeadlineSeconds: 1).
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKubeCaches, type KubeCaches } from "../src/adapters/kube/caches.js";
import { compilePolicy, type CompiledPolicy } from "../src/policy/index.js";
import { createWorkloadCaches, KubeWorkloadActions, type WorkloadCaches } from "../src/adapters/kube/workloads.js";
import { computeChangeHash } from "../src/changehash/index.js";
import { generateSigningKey } from "../src/evidence/chain/signing.js";
import type { EvidenceLedger } from "../src/evidence/ledger.js";
import { createEvidenceLedger } from "../src/wiring/ledger.js";
import { openPgliteDatabase } from "../src/evidence/store/pglite-database.js";
import type { SqlDatabase } from "../src/evidence/store/sql-database.js";
import { AegisMetrics } from "../src/observability/metrics.js";
import { buildSelfHealingController } from "../src/reconcilers/self-healing-controller.js";
import { workloadViews } from "../src/reconcilers/self-healing.js";
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

const run = randomBytes(3).toString("hex");
const ns = { crash: `heal-${run}`, rollout: `heal-${run}-ro`, dry: `heal-${run}-dry` };
const policies = { crash: `${ns.crash}-heal`, rollout: `${ns.rollout}-heal`, dry: `${ns.dry}-heal` };
const APPROVED_IMAGE = "ghcr.io/acme/web:1.0";
const BROKEN_IMAGE = "ghcr.io/acme/web:2.0";
const AEGIS = "system:serviceaccount:aegis-system:aegis-sa";
const healing = {
  restartOnCrashLoop: { enabled: true, minRestarts: 3, maxActionsPerHour: 1 },
  rollbackOnFailedRollout: { enabled: true, maxActionsPerHour: 1 },
};

function deployment(namespace: string, image: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace, labels: { app: "web" } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image }] } },
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
  metadata: { name: string; annotations?: Record<string, string>; ownerReferences?: { name: string }[] };
  spec: {
    template: { metadata?: { annotations?: Record<string, string> }; spec: { containers: { image: string }[] } };
  };
}

async function getJson<T = Json>(namespace: string, ...args: string[]): Promise<T> {
  return JSON.parse((await kubectl(["get", ...args, "-n", namespace, "-o", "json"])).stdout) as T;
}

const image = async (namespace: string): Promise<string | undefined> =>
  (await getJson(namespace, "deployment", "web")).spec.template.spec.containers[0]?.image;

async function history(namespace: string): Promise<HistoryEntry[]> {
  return parseHistory((await getJson(namespace, "deployment", "web")).metadata.annotations?.[HISTORY_ANNOTATION]);
}

async function historyWith(namespace: string, action: HistoryEntry["action"]): Promise<HistoryEntry[]> {
  return eventually(
    async () => {
      const entries = await history(namespace);
      return entries.some((e) => e.action === action) ? entries : undefined;
    },
    `${action} in ${namespace}'s healing history`,
    { timeoutMs: 60_000 },
  );
}

/** The pod of the ReplicaSet running the Deployment's current template, once it exists. */
async function currentPod(namespace: string): Promise<string | undefined> {
  const template = (await getJson(namespace, "deployment", "web")).spec.template;
  const restartedAt = (t: Json["spec"]["template"]): string | undefined =>
    t.metadata?.annotations?.["kubectl.kubernetes.io/restartedAt"];
  const sets = (await getJson<{ items: Json[] }>(namespace, "replicasets")).items;
  const current = sets.find(
    (rs) =>
      rs.spec.template.spec.containers[0]?.image === template.spec.containers[0]?.image &&
      restartedAt(rs.spec.template) === restartedAt(template),
  );
  const pods = (await getJson<{ items: Json[] }>(namespace, "pods")).items;
  return pods.find((pod) => pod.metadata.ownerReferences?.[0]?.name === current?.metadata.name)?.metadata.name;
}

/** What the kubelet would report for a container that keeps crashing. */
async function crashCurrentPod(namespace: string): Promise<void> {
  const pod = await eventually(() => currentPod(namespace), `the current pod in ${namespace}`);
  const waiting = { reason: "CrashLoopBackOff", message: "back-off 5m0s" };
  const status = {
    status: {
      phase: "Running",
      containerStatuses: [
        { name: "web", image: "x", imageID: "", ready: false, restartCount: 6, state: { waiting }, lastState: {} },
      ],
    },
  };
  await kubectl([
    "patch",
    "pod",
    pod,
    "-n",
    namespace,
    "--subresource=status",
    "--type=merge",
    "-p",
    JSON.stringify(status),
  ]);
}

async function eventMessages(namespace: string): Promise<{ reason: string; message: string; type: string }[]> {
  return (
    await getJson<{ items: { reason: string; message: string; type: string; involvedObject: { name: string } }[] }>(
      namespace,
      "events",
    )
  ).items.filter((e) => e.involvedObject.name === "web");
}

async function waitForEvent(namespace: string, reason: string): Promise<{ message: string; type: string }> {
  return eventually(
    async () => (await eventMessages(namespace)).find((e) => e.reason === reason),
    `a ${reason} Event in ${namespace}`,
  );
}

interface Recorded {
  id: string;
  subject: string;
  data: Record<string, unknown>;
}

async function healingRecords(namespace: string): Promise<Recorded[]> {
  const { rows } = await db.query(
    "SELECT id, subject, data FROM evidence_records WHERE type = 'selfhealing.action' AND subject = $1 ORDER BY seq",
    [`Deployment/${namespace}/web`],
  );
  return rows.map((row) => ({
    id: String(row["id"]),
    subject: String(row["subject"]),
    data: (typeof row["data"] === "string" ? JSON.parse(row["data"]) : row["data"]) as Record<string, unknown>,
  }));
}

/** An Approved ApprovalRequest, as the approval flow would have left it. */
async function approveByRequest(namespace: string, changeHash: string): Promise<void> {
  const name = `deployment-web-${changeHash.slice(7, 17)}`;
  const spec = {
    target: { apiVersion: "apps/v1", kind: "Deployment", namespace, name: "web" },
    changeHash,
    policies: [policies.crash],
    requester: { username: "dev", groups: ["developers"] },
    risk: { score: 10, factors: [] },
    decisions: [{ user: "alice", decision: "Approve", comment: "ok", at: new Date().toISOString(), via: "kubectl" }],
  };
  await kubectl(["apply", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "aegis.valina.ai/v1alpha1",
      kind: "ApprovalRequest",
      metadata: { name, namespace },
      spec,
    }),
  });
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

async function firstReplicaSet(namespace: string): Promise<void> {
  await eventually(
    async () => ((await getJson<{ items: unknown[] }>(namespace, "replicasets")).items.length === 1 ? true : undefined),
    `revision 1's ReplicaSet in ${namespace}`,
  );
}

const metrics = new AegisMetrics({ defaultMetrics: false });
let dataDir = "";
let db: SqlDatabase;
let ledger: EvidenceLedger;
let caches: KubeCaches<CompiledPolicy>;
let workloads: WorkloadCaches;
let controller: Controller;
const approved = { crash: "", rollout: "" };

describe("the healer running in this process (real kube adapters, real ledger)", () => {
  beforeAll(async () => {
    await removeWebhookConfiguration();
    dataDir = await mkdtemp(path.join(tmpdir(), "aegis-heal-"));
    db = await openPgliteDatabase(path.join(dataDir, "pglite"));
    ledger = await createEvidenceLedger(db, generateSigningKey(), { dataDir, closeDatabase: false });
    for (const namespace of Object.values(ns)) await kubectl(["create", "namespace", namespace]);
    await kubectl(["apply", "-f", "-"], { input: policy(policies.crash, ns.crash, healing) });
    await kubectl(["apply", "-f", "-"], { input: policy(policies.dry, ns.dry, { ...healing, dryRun: true }) });
    await prepareCrashLoopScenario();
    await prepareRolloutScenario();
    await kubectl(["apply", "-f", "-"], { input: deployment(ns.dry, BROKEN_IMAGE) });
    await startHealer();
  }, 180_000);

  /** Revision 1 approved through an ApprovalRequest, revision 2 (broken) applied. */
  async function prepareCrashLoopScenario(): Promise<void> {
    await kubectl(["apply", "-f", "-"], { input: deployment(ns.crash, APPROVED_IMAGE) });
    await firstReplicaSet(ns.crash);
    approved.crash = computeChangeHash(await getJson(ns.crash, "deployment", "web"));
    await approveByRequest(ns.crash, approved.crash);
    await kubectl(["apply", "-f", "-"], { input: deployment(ns.crash, BROKEN_IMAGE) });
  }

  /** Revision 1 approved only in the evidence ledger (its request long deleted), revision 2 applied. */
  async function prepareRolloutScenario(): Promise<void> {
    await kubectl(["apply", "-f", "-"], {
      input: deployment(ns.rollout, APPROVED_IMAGE, { progressDeadlineSeconds: 1 }),
    });
    await firstReplicaSet(ns.rollout);
    approved.rollout = computeChangeHash(await getJson(ns.rollout, "deployment", "web"));
    await ledger.record({
      type: "admission.decision",
      subject: `Deployment/${ns.rollout}/web`,
      actor: "dev",
      data: { operation: "UPDATE", allowed: true, reason: "Approved", changeHash: approved.rollout },
    });
    await kubectl(["apply", "-f", "-"], {
      input: deployment(ns.rollout, BROKEN_IMAGE, { progressDeadlineSeconds: 1 }),
    });
    await eventually(
      async () =>
        (await getJson<{ items: unknown[] }>(ns.rollout, "replicasets")).items.length === 2 ? true : undefined,
      "revision 2's ReplicaSet",
    );
  }

  async function startHealer(): Promise<void> {
    const kc = kubeConfig();
    caches = createKubeCaches(kc, silentLogger, compilePolicy);
    workloads = createWorkloadCaches(kc, silentLogger);
    [...caches.informers, ...workloads.informers].forEach((informer) => informer.start());
    await eventually(
      () =>
        Promise.resolve(
          caches.hasSynced() && workloads.hasSynced() && caches.policies.get(policies.dry) ? true : undefined,
        ),
      "caches to sync",
    );
    controller = buildSelfHealingController(
      {
        logger: silentLogger,
        deps: {
          workloads: workloadViews(workloads.source),
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
    workloads.onDeploymentChange((key) => controller.enqueue(key));
    caches.onChange(() => workloads.deploymentKeys().forEach((key) => controller.enqueue(key)));
    controller.start();
  }

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

  describe("self-healing of a crash-looping Deployment", () => {
    it("restarts it once", async () => {
      await crashCurrentPod(ns.crash);
      expect((await historyWith(ns.crash, "restart")).map((e) => e.action)).toEqual(["restart"]);
      const dep = await getJson(ns.crash, "deployment", "web");
      expect(dep.spec.template.metadata?.annotations?.["kubectl.kubernetes.io/restartedAt"]).toBeTruthy();
      expect(dep.spec.template.spec.containers[0]?.image).toBe(BROKEN_IMAGE);
      expect((await waitForEvent(ns.crash, "SelfHealingRestart")).type).toBe("Warning");
      expect((await healingRecords(ns.crash)).map((r) => r.data["action"])).toEqual(["restart"]);
    });

    it("rolls back to the last approved revision when the restart did not help", async () => {
      await crashCurrentPod(ns.crash);
      await eventually(async () => ((await image(ns.crash)) === APPROVED_IMAGE ? true : undefined), "the rollback");
      expect(computeChangeHash(await getJson(ns.crash, "deployment", "web"))).toBe(approved.crash);
      expect((await history(ns.crash)).map((e) => e.action)).toEqual(["restart", "rollback"]);
      await waitForEvent(ns.crash, "SelfHealingRollback");
      const rollback = (await healingRecords(ns.crash)).find((r) => r.data["action"] === "rollback");
      expect(rollback?.data).toMatchObject({
        rollbackTo: { changeHash: approved.crash },
        policy: policies.crash,
        dryRun: false,
      });
    });

    it("opens the breaker when the rollback did not help, and never acts beyond its budget", async () => {
      await crashCurrentPod(ns.crash);
      await historyWith(ns.crash, "escalate");
      expect((await waitForEvent(ns.crash, "SelfHealingEscalated")).message).toMatch(/a human must act/);
      const metricText = await metrics.registry.metrics();
      expect(metricText).toMatch(/aegis_selfhealing_actions_total\{action="escalate",result="breaker-open"\} 1/);
      expect(metricText).toMatch(/aegis_selfhealing_actions_total\{action="restart",result="done"\} 1/);
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      expect((await history(ns.crash)).map((e) => e.action)).toEqual(["restart", "rollback", "escalate"]);
      const records = await healingRecords(ns.crash);
      expect(records.map((r) => r.data["action"])).toEqual(["restart", "rollback", "escalate"]);
      expect(new Set(records.map((r) => r.id)).size).toBe(records.length);
    });
  });

  describe("self-healing of a failed rollout", () => {
    it("rolls back to the revision the evidence ledger shows approved, then stops", async () => {
      await kubectl(["apply", "-f", "-"], { input: policy(policies.rollout, ns.rollout, healing) });
      await eventually(
        async () => ((await image(ns.rollout)) === APPROVED_IMAGE ? true : undefined),
        "the rollback of the failed rollout",
      );
      const [rollback] = await historyWith(ns.rollout, "escalate");
      expect(rollback).toMatchObject({ action: "rollback", reason: "FailedRollout" });
      expect((await history(ns.rollout)).map((e) => e.action)).toEqual(["rollback", "escalate"]);
      const records = await healingRecords(ns.rollout);
      expect(records[0]?.data).toMatchObject({ action: "rollback", rollbackTo: { changeHash: approved.rollout } });
    });
  });

  describe("self-healing in dry-run mode", () => {
    it("records and announces what it would do, and changes nothing", async () => {
      await crashCurrentPod(ns.dry);
      expect((await waitForEvent(ns.dry, "SelfHealingRestart")).message).toMatch(/^\[dry run\] would restart/);
      const records = await healingRecords(ns.dry);
      expect(records).toHaveLength(1);
      expect(records[0]?.data).toMatchObject({ action: "restart", dryRun: true });
      expect(await history(ns.dry)).toEqual([]);
      expect(
        (await getJson(ns.dry, "deployment", "web")).spec.template.metadata?.annotations?.[
          "kubectl.kubernetes.io/restartedAt"
        ],
      ).toBeUndefined();
    });
  });
});

// The same story through `aegis serve` (the gate, AEGIS's own service account and RBAC, the
// approval flow).
// aegis serve is given AEGIS_HEALING_BASE_BACKOFF_MS=2000; if it ignores it, the default 60 s
// backoff makes this take about three minutes, which the timeouts allow.
describe("the healer in aegis serve", () => {
  const serveNs = `heal-${run}-serve`;
  const servePolicy = `${serveNs}-heal`;
  const dev = { as: "dev", asGroups: ["developers"] };
  const alice = { as: "alice", asGroups: ["sre-leads"] };
  let aegis: RunningAegisProcess;

  async function approvedApply(image: string): Promise<void> {
    const denied = await kubectl(["apply", "-f", "-"], { ...dev, input: deployment(serveNs, image), allowFail: true });
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
        (await kubectl(["apply", "-f", "-"], { ...dev, input: deployment(serveNs, image), allowFail: true })).code === 0
          ? true
          : undefined,
      "admission after approval",
    );
  }

  beforeAll(async () => {
    await kubectl(["create", "namespace", serveNs]);
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
    await kubectl(["apply", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "aegis.valina.ai/v1alpha1",
        kind: "AegisPolicy",
        metadata: { name: servePolicy },
        spec,
      }),
    });
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
    await kubectl(["delete", "namespace", serveNs, "--wait=false"], { allowFail: true });
  });

  it("restarts, rolls back through the gate to the previous approved revision, then opens the breaker", async () => {
    const slow = { timeoutMs: 240_000, intervalMs: 1_000 };
    await approvedApply(APPROVED_IMAGE);
    const v1 = computeChangeHash(await getJson(serveNs, "deployment", "web"));
    await approvedApply(BROKEN_IMAGE);
    await crashCurrentPod(serveNs);
    await eventually(
      async () => ((await history(serveNs)).some((e) => e.action === "restart") ? true : undefined),
      "the restart",
      slow,
    );
    await crashCurrentPod(serveNs);
    await eventually(async () => ((await image(serveNs)) === APPROVED_IMAGE ? true : undefined), "the rollback", slow);
    expect(computeChangeHash(await getJson(serveNs, "deployment", "web"))).toBe(v1);
    await crashCurrentPod(serveNs);
    await eventually(
      async () => ((await history(serveNs)).some((e) => e.action === "escalate") ? true : undefined),
      "the breaker",
      slow,
    );
    expect((await history(serveNs)).map((e) => e.action)).toEqual(["restart", "rollback", "escalate"]);
    const reasons = (await eventMessages(serveNs)).map((e) => e.reason);
    expect(reasons).toEqual(
      expect.arrayContaining(["SelfHealingRestart", "SelfHealingRollback", "SelfHealingEscalated"]),
    );
  }, 600_000);
});
