// Self-healing end to end against the real kube-apiserver and kube-controller-manager: the
// reconciler runs in this process with the real kube adapters (no kubelet here, so pod and
// Deployment status is written through the status subresource to simulate crash loops).
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKubeCaches, type KubeCaches } from "../src/adapters/kube/caches.js";
import { createWorkloadCaches, KubeWorkloadActions, type WorkloadCaches } from "../src/adapters/kube/workloads.js";
import { computeChangeHash } from "../src/changehash/index.js";
import { AegisMetrics } from "../src/observability/metrics.js";
import type { EvidenceEvent, EvidenceRecorder } from "../src/ports/evidence.js";
import { buildSelfHealingController } from "../src/reconcilers/self-healing-controller.js";
import type { Controller } from "../src/runtime/controller.js";
import { silentLogger } from "../src/runtime/logger.js";
import { anyApprovals, approvalRequestApprovals, HISTORY_ANNOTATION, parseHistory, type HistoryEntry } from "../src/selfhealing/index.js";
import { removeWebhookConfiguration } from "./helpers/aegis.js";
import { eventually, kubeConfig, kubectl } from "./helpers/kube.js";

const ns = `heal-${randomBytes(3).toString("hex")}`;
const policyName = `${ns}-heal`;
const APPROVED_IMAGE = "ghcr.io/acme/web:1.0";
const BROKEN_IMAGE = "ghcr.io/acme/web:2.0";

/** Records like the ledger: an id it already holds is not appended twice. */
class MemoryEvidence implements EvidenceRecorder {
  readonly records: EvidenceEvent[] = [];
  record(event: EvidenceEvent): Promise<void> {
    if (!this.records.some((r) => event.id !== undefined && r.id === event.id)) this.records.push(event);
    return Promise.resolve();
  }
  actions(): string[] {
    return this.records.filter((r) => r.type === "selfhealing.action").map((r) => String(r.data["action"]));
  }
}

function deployment(image: string): string {
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: ns, labels: { app: "web" } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image }] } },
    },
  });
}

interface Json {
  metadata: { name: string; annotations?: Record<string, string>; ownerReferences?: { name: string }[] };
  spec: { template: { metadata?: { annotations?: Record<string, string> }; spec: { containers: { image: string }[] } } };
}

async function getJson<T = Json>(...args: string[]): Promise<T> {
  return JSON.parse((await kubectl(["get", ...args, "-n", ns, "-o", "json"])).stdout) as T;
}

async function history(): Promise<HistoryEntry[]> {
  return parseHistory((await getJson("deployment", "web")).metadata.annotations?.[HISTORY_ANNOTATION]);
}

/** The pod of the ReplicaSet running the Deployment's current template, once it exists. */
async function currentPod(): Promise<string | undefined> {
  const dep = await getJson("deployment", "web");
  const image = dep.spec.template.spec.containers[0]?.image;
  const restartedAt = dep.spec.template.metadata?.annotations?.["kubectl.kubernetes.io/restartedAt"];
  const sets = (await getJson<{ items: Json[] }>("replicasets")).items;
  const current = sets.find((rs) => rs.spec.template.spec.containers[0]?.image === image && rs.spec.template.metadata?.annotations?.["kubectl.kubernetes.io/restartedAt"] === restartedAt);
  const pods = (await getJson<{ items: Json[] }>("pods")).items;
  return pods.find((pod) => pod.metadata.ownerReferences?.[0]?.name === current?.metadata.name)?.metadata.name;
}

/** What the kubelet would report for a container that keeps crashing. */
async function crashLoop(pod: string): Promise<void> {
  const status = {
    status: {
      phase: "Running",
      containerStatuses: [{ name: "web", image: "x", imageID: "", ready: false, restartCount: 6, state: { waiting: { reason: "CrashLoopBackOff", message: "back-off 5m0s" } }, lastState: {} }],
    },
  };
  await kubectl(["patch", "pod", pod, "-n", ns, "--subresource=status", "--type=merge", "-p", JSON.stringify(status)]);
}

async function crashCurrentPod(what: string): Promise<void> {
  const pod = await eventually(currentPod, `the pod of ${what}`);
  await crashLoop(pod);
}

async function eventReasons(): Promise<string[]> {
  const events = await getJson<{ items: { reason: string; involvedObject: { name: string } }[] }>("events");
  return events.items.filter((e) => e.involvedObject.name === "web").map((e) => e.reason);
}

const evidence = new MemoryEvidence();
const metrics = new AegisMetrics({ defaultMetrics: false });
let caches: KubeCaches;
let workloads: WorkloadCaches;
let controller: Controller;
let approvedHash = "";

beforeAll(async () => {
  await removeWebhookConfiguration();
  await kubectl(["create", "namespace", ns]);
  await kubectl(["apply", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "aegis.valina.ai/v1alpha1",
      kind: "AegisPolicy",
      metadata: { name: policyName },
      spec: {
        match: { kinds: ["Deployment"], namespaces: [ns] },
        selfHealing: { restartOnCrashLoop: { enabled: true, minRestarts: 3, maxActionsPerHour: 1 }, rollbackOnFailedRollout: { enabled: true, maxActionsPerHour: 1 } },
      },
    }),
  });
  await kubectl(["apply", "-f", "-"], { input: deployment(APPROVED_IMAGE) });
  await eventually(async () => ((await getJson<{ items: unknown[] }>("replicasets")).items.length === 1 ? true : undefined), "revision 1's ReplicaSet");
  approvedHash = computeChangeHash(await getJson("deployment", "web"));
  await approve(approvedHash);
  await kubectl(["apply", "-f", "-"], { input: deployment(BROKEN_IMAGE) });

  const kc = kubeConfig();
  caches = createKubeCaches(kc, silentLogger);
  workloads = createWorkloadCaches(kc, silentLogger);
  [...caches.informers, ...workloads.informers].forEach((informer) => informer.start());
  await eventually(async () => Promise.resolve(caches.hasSynced() && workloads.hasSynced() && caches.policies.get(policyName) ? true : undefined), "caches to sync");
  controller = buildSelfHealingController(
    {
      logger: silentLogger,
      deps: {
        workloads: workloads.source,
        actions: new KubeWorkloadActions(kc, "e2e"),
        policies: caches.policies,
        namespaceLabels: caches.namespaceLabels,
        approved: anyApprovals([approvalRequestApprovals(caches.approvals)]),
        evidence,
        metrics: { inc: (labels) => metrics.selfHealingActions.inc(labels) },
        now: () => new Date(),
        actor: "system:serviceaccount:aegis-system:aegis-sa",
        tuning: { baseBackoffMs: 2_000, maxBackoffMs: 8_000, unavailableAfterMs: 3_600_000, stuckPodAfterMs: 3_600_000 },
      },
    },
    workloads,
  );
  workloads.onDeploymentChange((key) => controller.enqueue(key));
  caches.onChange(() => workloads.deploymentKeys().forEach((key) => controller.enqueue(key)));
  controller.start();
}, 180_000);

/** An Approved ApprovalRequest for revision 1, as the approval flow would have left it. */
async function approve(changeHash: string): Promise<void> {
  const name = `deployment-web-${changeHash.slice(7, 17)}`;
  await kubectl(["apply", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "aegis.valina.ai/v1alpha1",
      kind: "ApprovalRequest",
      metadata: { name, namespace: ns },
      spec: {
        target: { apiVersion: "apps/v1", kind: "Deployment", namespace: ns, name: "web" },
        changeHash,
        policies: [policyName],
        requester: { username: "dev", groups: ["developers"] },
        risk: { score: 10, factors: [] },
        decisions: [{ user: "alice", decision: "Approve", comment: "ok", at: new Date().toISOString(), via: "kubectl" }],
      },
    }),
  });
  await kubectl(["patch", "areq", name, "-n", ns, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status: { phase: "Approved", approvals: 1, requiredApprovals: 1 } })]);
}

afterAll(async () => {
  await controller?.stop();
  await Promise.all([...(caches?.informers ?? []), ...(workloads?.informers ?? [])].map((informer) => informer.stop()));
  await kubectl(["delete", "apol", policyName, "--ignore-not-found"], { allowFail: true });
  await kubectl(["delete", "namespace", ns, "--wait=false"], { allowFail: true });
});

describe("self-healing of a crash-looping Deployment", () => {
  it("restarts it once", async () => {
    await crashCurrentPod("revision 2");
    const entries = await eventually(async () => {
      const h = await history();
      return h.some((e) => e.action === "restart") ? h : undefined;
    }, "a restart in the healing history");
    expect(entries.map((e) => e.action)).toEqual(["restart"]);
    const dep = await getJson("deployment", "web");
    expect(dep.spec.template.metadata?.annotations?.["kubectl.kubernetes.io/restartedAt"]).toBeTruthy();
    expect(dep.spec.template.spec.containers[0]?.image).toBe(BROKEN_IMAGE);
    await eventually(async () => ((await eventReasons()).includes("SelfHealingRestart") ? true : undefined), "a SelfHealingRestart Event");
    expect(evidence.actions()).toEqual(["restart"]);
  });

  it("rolls back to the last approved revision when the restart did not help", async () => {
    await crashCurrentPod("the restarted revision");
    await eventually(async () => ((await getJson("deployment", "web")).spec.template.spec.containers[0]?.image === APPROVED_IMAGE ? true : undefined), "the rollback", { timeoutMs: 60_000 });
    const dep = await getJson("deployment", "web");
    expect(computeChangeHash(dep)).toBe(approvedHash);
    expect((await history()).map((e) => e.action)).toEqual(["restart", "rollback"]);
    await eventually(async () => ((await eventReasons()).includes("SelfHealingRollback") ? true : undefined), "a SelfHealingRollback Event");
    const rollback = evidence.records.find((r) => r.data["action"] === "rollback");
    expect(rollback?.data["rollbackTo"]).toMatchObject({ changeHash: approvedHash });
    expect(rollback?.subject).toBe(`Deployment/${ns}/web`);
  });

  it("opens the breaker when the rollback did not help, and never acts beyond its budget", async () => {
    await crashCurrentPod("the rolled-back revision");
    await eventually(async () => ((await history()).some((e) => e.action === "escalate") ? true : undefined), "the breaker to open", { timeoutMs: 60_000 });
    await eventually(async () => ((await eventReasons()).includes("SelfHealingEscalated") ? true : undefined), "a SelfHealingEscalated Event");
    const metricText = await metrics.registry.metrics();
    expect(metricText).toMatch(/aegis_selfhealing_actions_total\{action="escalate",result="breaker-open"\} 1/);
    expect(metricText).toMatch(/aegis_selfhealing_actions_total\{action="restart",result="done"\} 1/);
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    expect((await history()).map((e) => e.action)).toEqual(["restart", "rollback", "escalate"]);
    expect(evidence.actions()).toEqual(["restart", "rollback", "escalate"]);
    expect(new Set(evidence.records.map((r) => r.id)).size).toBe(evidence.records.length);
  });
});
