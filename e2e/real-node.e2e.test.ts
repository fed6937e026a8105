// The local cluster's real node (scripts/lib/node.sh): a kubelet on containerd runs real Pods.
// A busybox container runs and its log comes back through the API (pods/log, as `kubectl logs`);
// a container that exits 1 is restarted and backs off; one over its 32Mi memory limit is killed
// by the kernel. The pods tolerate the node's taint and use the image the node was given.
import { randomBytes } from "node:crypto";
import {
  CoreV1Api,
  type V1ContainerStatus,
  type V1Node,
  type V1Pod,
  type V1ResourceRequirements,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, kubeConfig, kubectl } from "./helpers/kube.js";

const NODE = "aegis-node";
const TAINT_KEY = "aegis.valina.ai/real-node";
const BUSYBOX_PREFIX = "localhost/aegis-busybox:";
const MEMORY_LIMIT_BYTES = 32 * 1024 * 1024;

const run = randomBytes(3).toString("hex");
const ns = `aegis-e2e-node-${run}`;
const core = kubeConfig().makeApiClient(CoreV1Api);

async function node(): Promise<V1Node> {
  try {
    return await core.readNode({ name: NODE });
  } catch (err) {
    throw new Error(`no Node ${NODE}: scripts/cluster.sh up starts it (unless AEGIS_NODE=0)`, { cause: err });
  }
}

/** The busybox image `cluster.sh up` imported, as the kubelet reports it. */
async function busyboxImage(): Promise<string> {
  const names = ((await node()).status?.images ?? []).flatMap((image) => image.names ?? []);
  const image = names.find((name) => name.startsWith(BUSYBOX_PREFIX));
  if (!image) throw new Error(`Node ${NODE} has no ${BUSYBOX_PREFIX}… image (it has ${names.join(", ")})`);
  return image;
}

function pod(
  name: string,
  image: string,
  script: string,
  { restartPolicy, resources }: { restartPolicy?: "Never"; resources?: V1ResourceRequirements } = {},
): V1Pod {
  return {
    metadata: { name, namespace: ns },
    spec: {
      terminationGracePeriodSeconds: 1,
      tolerations: [{ key: TAINT_KEY, operator: "Exists", effect: "NoSchedule" }],
      ...(restartPolicy ? { restartPolicy } : {}),
      containers: [
        {
          name: "c",
          image,
          imagePullPolicy: "Never",
          command: ["sh", "-c", script],
          env: [{ name: "RUN", value: run }],
          ...(resources ? { resources } : {}),
        },
      ],
    },
  };
}

async function containerStatus(name: string): Promise<V1ContainerStatus | undefined> {
  const current = await core.readNamespacedPod({ name, namespace: ns });
  return current.status?.containerStatuses?.[0];
}

const readLog = (name: string): Promise<string> => core.readNamespacedPodLog({ name, namespace: ns, container: "c" });

describe("the local cluster's real node", () => {
  beforeAll(async () => {
    await kubectl(["create", "namespace", ns]);
    // Pods need the namespace's default ServiceAccount, which kube-controller-manager creates.
    await eventually(
      async () =>
        (await kubectl(["get", "serviceaccount", "default", "-n", ns], { allowFail: true })).code === 0
          ? true
          : undefined,
      `the default ServiceAccount in ${ns}`,
    );
    const image = await busyboxImage();
    // The shell computes what it prints, so the log can only come from the running container.
    await core.createNamespacedPod({
      namespace: ns,
      body: pod("hello", image, 'echo "hello $((6 * 7)) from $RUN"; exec sleep 3600'),
    });
    await core.createNamespacedPod({ namespace: ns, body: pod("crash", image, "echo crashing; exit 1") });
    await core.createNamespacedPod({
      namespace: ns,
      body: pod(
        "oom",
        image,
        // The limit the kernel enforces, then far more than it: tail keeps the whole "line" in memory.
        "cat /sys/fs/cgroup/memory.max 2>/dev/null || cat /sys/fs/cgroup/memory/memory.limit_in_bytes; head -c 200000000 /dev/zero | tail",
        { restartPolicy: "Never", resources: { limits: { memory: "32Mi" } } },
      ),
    });
  });

  afterAll(async () => {
    // Waits for the kubelet to stop the pods, so the next suite finds the node empty.
    await kubectl(["delete", "namespace", ns, "--ignore-not-found", "--timeout=90s"], { allowFail: true });
  });

  it("is Ready, on containerd, at the bridge's address and tainted", async () => {
    const current = await node();
    const ready = current.status?.conditions?.find((c) => c.type === "Ready");
    expect(ready?.status).toBe("True");
    expect(current.status?.nodeInfo?.containerRuntimeVersion).toMatch(/^containerd:\/\//);
    expect(current.status?.addresses).toContainEqual({ type: "InternalIP", address: "10.244.0.1" });
    expect(current.spec?.taints).toContainEqual({ key: TAINT_KEY, effect: "NoSchedule" });
  });

  it("runs a busybox Pod whose log is read through the API", async () => {
    const running = await eventually(async () => {
      const current = await core.readNamespacedPod({ name: "hello", namespace: ns });
      return current.status?.phase === "Running" && current.status.containerStatuses?.[0]?.ready ? current : undefined;
    }, "Pod hello Running");
    expect(running.spec?.nodeName).toBe(NODE);
    expect(running.status?.podIP).toMatch(/^10\.244\.0\.\d+$/);
    const log = await eventually(async () => {
      const text = await readLog("hello");
      return text.includes("hello") ? text : undefined;
    }, "the log of Pod hello");
    expect(log.trim()).toBe(`hello 42 from ${run}`);
  });

  it("restarts a container that exits 1 and backs off (CrashLoopBackOff)", async () => {
    // The kubelet (1.36) syncs a backing-off pod again only when its back-off expires, so the
    // status shows `waiting: CrashLoopBackOff` for a moment at most and a poll can miss it. What
    // stays: the restart count, the exit code, the kubelet's BackOff event, and the gap it left
    // before the second restart (the first restart is immediate, the next waits 10 s).
    let last: V1ContainerStatus | undefined;
    const status = await eventually(
      async () => {
        const s = await containerStatus("crash");
        last = s;
        return s && s.restartCount >= 2 && s.lastState?.terminated ? s : undefined;
      },
      "Pod crash restarted twice",
      // 10 s of back-off before the second restart; a busy two-core machine (the whole npm test) adds a lot.
      { timeoutMs: 150_000 },
    ).catch(async (error: unknown) => {
      // Say what the kubelet last reported and what the node says about the pod, for the next reader.
      const events = await kubectl(["get", "events", "-n", ns, "--field-selector", "involvedObject.name=crash"], {
        allowFail: true,
      });
      throw new Error(
        `${error instanceof Error ? error.message : String(error)}; last container status: ${JSON.stringify(last)}; events:\n${events.stdout}`,
        { cause: error },
      );
    });
    expect(status.lastState?.terminated?.exitCode).toBe(1);
    const startedAgain = status.state?.running?.startedAt ?? status.state?.terminated?.startedAt;
    if (startedAgain) {
      const pausedMs =
        new Date(startedAgain).getTime() - new Date(status.lastState?.terminated?.finishedAt ?? 0).getTime();
      // Timestamps have whole seconds.
      expect(pausedMs).toBeGreaterThanOrEqual(9_000);
    } else {
      expect(status.state?.waiting?.reason).toBe("CrashLoopBackOff");
    }
    const backOff = await eventually(async () => {
      const { items } = await core.listNamespacedEvent({
        namespace: ns,
        fieldSelector: "involvedObject.name=crash,reason=BackOff",
      });
      return items[0];
    }, "the kubelet's BackOff event for Pod crash");
    expect(backOff.type).toBe("Warning");
    expect(backOff.message).toMatch(/^Back-off restarting failed container c /);
    expect(backOff.source?.component ?? backOff.reportingComponent).toBe("kubelet");
    expect(await readLog("crash")).toContain("crashing");
  }, 200_000);

  it("OOM-kills a container that allocates more than its 32Mi memory limit", async () => {
    const status = await eventually(async () => {
      const s = await containerStatus("oom");
      return s?.state?.terminated ? s : undefined;
    }, "the container of Pod oom to terminate");
    expect(status.state?.terminated?.reason).toBe("OOMKilled");
    expect(status.state?.terminated?.exitCode).toBe(137);
    expect((await readLog("oom")).split("\n")[0]?.trim()).toBe(String(MEMORY_LIMIT_BYTES));
  });
});
