// The informer wrapper and a Controller against a real kube-apiserver: list, watch events,
// resync on relist, and keys flowing into reconciles.
import { randomBytes } from "node:crypto";
import { CoreV1Api, KubeConfig, type V1ConfigMap } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Controller, listWatchSource, objectKey, ResilientInformer } from "../../src/runtime/index.js";
import { eventually, kubeConfig, kubectl } from "../helpers/kube.js";

/** An `eventually` check that passes once `condition` holds. */
function until(condition: () => boolean): () => Promise<true | undefined> {
  return () => Promise.resolve(condition() ? true : undefined);
}

const ns = `aegis-e2e-informer-${randomBytes(3).toString("hex")}`;

function configMapInformer(
  kc: KubeConfig,
  options: { relistIntervalMs?: number; restartInitialDelayMs?: number; restartMaxDelayMs?: number } = {},
): ResilientInformer<V1ConfigMap> {
  const core = kc.makeApiClient(CoreV1Api);
  return new ResilientInformer<V1ConfigMap>({
    name: "configmaps",
    source: listWatchSource({
      kubeConfig: kc,
      path: `/api/v1/namespaces/${ns}/configmaps`,
      list: () => core.listNamespacedConfigMap({ namespace: ns }),
    }),
    ...options,
  });
}

/** The admin kubeconfig, impersonating `user` (kubectl's `--as`). */
function impersonating(user: string): KubeConfig {
  const admin = kubeConfig();
  const adminUser = admin.getCurrentUser()?.name;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: admin.clusters,
    contexts: admin.contexts,
    currentContext: admin.currentContext,
    users: admin.users.map((u) => (u.name === adminUser ? { ...u, impersonateUser: user } : u)),
  });
  return kc;
}

function body(name: string, value: string): V1ConfigMap {
  return { metadata: { name, namespace: ns }, data: { value } };
}

describe("ResilientInformer against a real apiserver", () => {
  const core = kubeConfig().makeApiClient(CoreV1Api);

  beforeAll(async () => {
    await kubectl(["create", "namespace", ns]);
    await core.createNamespacedConfigMap({ namespace: ns, body: body("pre-existing", "0") });
  });

  afterAll(async () => {
    await kubectl(["delete", "namespace", ns, "--wait=false", "--ignore-not-found"], { allowFail: true });
  });

  it("syncs, then sees create, update and delete of ConfigMaps", async () => {
    const informer = configMapInformer(kubeConfig());
    const changes: string[] = [];
    const deletes: string[] = [];
    informer.addEventHandler({
      onChange: (cm) => changes.push(`${objectKey(cm)}=${cm.data?.["value"] ?? ""}`),
      onDelete: (cm) => deletes.push(objectKey(cm) ?? "?"),
    });
    expect(informer.hasSynced()).toBe(false);
    informer.start();
    try {
      expect(await informer.waitForSync(AbortSignal.timeout(30_000))).toBe(true);
      expect(informer.hasSynced()).toBe(true);
      expect(informer.get("pre-existing", ns)?.data).toEqual({ value: "0" });
      expect(changes).toContain(`${ns}/pre-existing=0`);

      await core.createNamespacedConfigMap({ namespace: ns, body: body("watched", "1") });
      await eventually(() => Promise.resolve(informer.get("watched", ns)), "the informer to see the new ConfigMap");
      expect(changes).toContain(`${ns}/watched=1`);

      await core.replaceNamespacedConfigMap({ name: "watched", namespace: ns, body: body("watched", "2") });
      await eventually(
        until(() => informer.get("watched", ns)?.data?.["value"] === "2"),
        "the update",
      );
      expect(changes).toContain(`${ns}/watched=2`);

      await core.deleteNamespacedConfigMap({ name: "watched", namespace: ns });
      await eventually(
        until(() => deletes.includes(`${ns}/watched`)),
        "the delete event",
      );
      expect(informer.get("watched", ns)).toBeUndefined();
      expect(informer.list(ns).map((cm) => cm.metadata?.name)).toContain("pre-existing");
      expect(informer.restarts).toBe(0);
      expect(informer.lastEventAgeMs()).toBeLessThan(60_000);
    } finally {
      await informer.stop();
    }
  });

  it("relists periodically and resyncs every key into a controller's reconciles", async () => {
    const informer = configMapInformer(kubeConfig(), { relistIntervalMs: 1500 });
    const reconciled: string[] = [];
    const controller = new Controller({
      name: "configmap-echo",
      workers: 2,
      reconcile: (key) => {
        // Level-triggered: read the current state from the cache, whatever event brought the key.
        const [namespace, name] = key.split("/");
        reconciled.push(`${key}:${informer.get(name ?? "", namespace) ? "present" : "gone"}`);
        return Promise.resolve();
      },
    });
    const enqueue = (cm: V1ConfigMap): void => {
      const key = objectKey(cm);
      if (key) controller.enqueue(key);
    };
    informer.addEventHandler({ onChange: enqueue, onDelete: enqueue });
    controller.start();
    informer.start();
    try {
      await informer.waitForSync(AbortSignal.timeout(30_000));
      await eventually(
        until(() => informer.relists >= 2),
        "two periodic relists",
        { timeoutMs: 15_000 },
      );
      const resyncs = reconciled.filter((r) => r === `${ns}/pre-existing:present`).length;
      expect(resyncs).toBeGreaterThanOrEqual(2);
      expect(informer.restarts).toBe(0);
      expect(informer.get("pre-existing", ns)).toBeDefined();

      await core.createNamespacedConfigMap({ namespace: ns, body: body("short-lived", "x") });
      await eventually(
        until(() => reconciled.includes(`${ns}/short-lived:present`)),
        "a reconcile of the new key",
      );
      await core.deleteNamespacedConfigMap({ name: "short-lived", namespace: ns });
      await eventually(
        until(() => reconciled.includes(`${ns}/short-lived:gone`)),
        "a reconcile after the delete",
      );
      expect(controller.errors).toBe(0);
    } finally {
      await informer.stop();
      await controller.stop();
    }
  });

  it("restarts with backoff while the watch is refused, and recovers once it is allowed", async () => {
    // The user may list but not watch: every generation lists, then its watch gets 403.
    const user = "informer-e2e";
    await kubectl(["create", "role", "cm-list-only", "--verb=list", "--resource=configmaps", "-n", ns]);
    await kubectl(["create", "rolebinding", "cm-list-only", "--role=cm-list-only", `--user=${user}`, "-n", ns]);
    const informer = configMapInformer(impersonating(user), { restartInitialDelayMs: 200, restartMaxDelayMs: 800 });
    informer.start();
    try {
      await eventually(
        until(() => informer.restarts >= 3),
        "restarts after refused watches",
        { timeoutMs: 20_000 },
      );
      expect(informer.hasSynced()).toBe(false);

      await kubectl(["create", "role", "cm-watch", "--verb=list,watch", "--resource=configmaps", "-n", ns]);
      await kubectl(["create", "rolebinding", "cm-watch", "--role=cm-watch", `--user=${user}`, "-n", ns]);
      await eventually(
        until(() => informer.hasSynced()),
        "the informer to sync once watching is allowed",
        {
          timeoutMs: 20_000,
        },
      );
      const restartsWhenHealthy = informer.restarts;
      await core.createNamespacedConfigMap({ namespace: ns, body: body("after-recovery", "1") });
      await eventually(() => Promise.resolve(informer.get("after-recovery", ns)), "an event on the recovered watch");
      expect(informer.restarts).toBe(restartsWhenHealthy);
    } finally {
      await informer.stop();
    }
  });
});
