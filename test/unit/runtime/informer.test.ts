import type { KubernetesObject } from "@kubernetes/client-node";
import { describe, expect, it } from "vitest";
import { ResilientInformer, type InformerOptions, type InformerSource } from "../../../src/runtime/informer.js";
import { objectKey } from "../../../src/runtime/keys.js";
import { FakeClock, flushPromises } from "./fake-clock.js";

type Obj = KubernetesObject;
type Listener = (arg: never) => void;

function cm(name: string, rv = "1", namespace = "ns"): Obj {
  return { kind: "ConfigMap", metadata: { name, namespace, resourceVersion: rv } };
}

/**
 * Stands in for client-node's ListWatch, to drive the wrapper's restart, relist and staleness
 * logic deterministically. It is not an apiserver: the real list/watch behaviour is proven in
 * e2e/runtime/informer.e2e.test.ts.
 */
class FakeSource implements InformerSource<Obj> {
  readonly cache = new Map<string, Obj>();
  stopped = false;
  stopCalls = 0;
  private readonly listeners = new Map<string, Listener[]>();

  constructor(private readonly cluster: FakeCluster) {}

  on(verb: string, callback: Listener): void {
    this.listeners.set(verb, [...(this.listeners.get(verb) ?? []), callback]);
  }

  emit(verb: string, arg?: unknown): void {
    for (const listener of this.listeners.get(verb) ?? []) (listener as (a: unknown) => void)(arg);
  }

  start(): Promise<void> {
    this.emit("connect");
    if (this.cluster.listError) {
      this.emit("error", this.cluster.listError);
      return Promise.resolve();
    }
    if (this.cluster.holdLists) return new Promise<void>((resolve) => this.cluster.heldLists.push(resolve));
    for (const obj of this.cluster.objects.values()) this.apply("add", obj);
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.stopped = true;
    this.stopCalls += 1;
    return Promise.resolve();
  }

  apply(verb: "add" | "update" | "delete", obj: Obj): void {
    const key = objectKey(obj) ?? "";
    if (verb === "delete") this.cache.delete(key);
    else this.cache.set(key, obj);
    this.emit(verb, obj);
  }

  get(name: string, namespace?: string): Obj | undefined {
    return this.cache.get(namespace ? `${namespace}/${name}` : name);
  }

  list(namespace?: string): readonly Obj[] {
    return [...this.cache.values()].filter((o) => namespace === undefined || o.metadata?.namespace === namespace);
  }
}

/** The truth the fake sources list from, plus knobs for failures. */
class FakeCluster {
  readonly objects = new Map<string, Obj>();
  readonly sources: FakeSource[] = [];
  listError: Error | undefined;
  holdLists = false;
  readonly heldLists: (() => void)[] = [];

  source = (): FakeSource => {
    const source = new FakeSource(this);
    this.sources.push(source);
    return source;
  };

  get watching(): FakeSource | undefined {
    return this.sources.filter((s) => !s.stopped).at(-1);
  }

  /** Changes the truth; the live watch sees it unless `silently` (an event lost in a gap). */
  put(obj: Obj, silently = false): void {
    const key = objectKey(obj) ?? "";
    const verb = this.objects.has(key) ? "update" : "add";
    this.objects.set(key, obj);
    if (!silently) this.watching?.apply(verb, obj);
  }

  remove(obj: Obj, silently = false): void {
    this.objects.delete(objectKey(obj) ?? "");
    if (!silently) this.watching?.apply("delete", obj);
  }
}

interface Harness {
  clock: FakeClock;
  cluster: FakeCluster;
  informer: ResilientInformer<Obj>;
  changed: string[];
  deleted: string[];
}

function harness(options: Partial<InformerOptions<Obj>> = {}, seed: Obj[] = []): Harness {
  const clock = new FakeClock();
  const cluster = new FakeCluster();
  for (const obj of seed) cluster.objects.set(objectKey(obj) ?? "", obj);
  const informer = new ResilientInformer<Obj>({
    name: "configmaps",
    source: cluster.source,
    clock,
    random: () => 0,
    ...options,
  });
  const changed: string[] = [];
  const deleted: string[] = [];
  informer.addEventHandler({
    onChange: (obj) => changed.push(objectKey(obj) ?? "?"),
    onDelete: (obj) => deleted.push(objectKey(obj) ?? "?"),
  });
  return { clock, cluster, informer, changed, deleted };
}

describe("ResilientInformer", () => {
  it("syncs the initial list, reports every object and serves reads", async () => {
    const h = harness({}, [cm("a"), cm("b")]);
    expect(h.informer.hasSynced()).toBe(false);
    const synced = h.informer.waitForSync();
    h.informer.start();
    expect(await synced).toBe(true);
    expect(h.informer.hasSynced()).toBe(true);
    expect(h.changed.sort()).toEqual(["ns/a", "ns/b"]);
    expect(h.informer.get("a", "ns")?.metadata?.name).toBe("a");
    expect(h.informer.list("ns")).toHaveLength(2);
    expect(h.informer.list("other")).toHaveLength(0);
    await h.informer.stop();
  });

  it("keeps no managedFields in its cache, for listed and watched objects alike", async () => {
    const withManagers = (name: string, rv: string): Obj => ({
      ...cm(name, rv),
      metadata: { ...cm(name, rv).metadata, managedFields: [{ manager: "kubectl", operation: "Apply" }] },
    });
    const h = harness({}, [withManagers("a", "1")]);
    h.informer.start();
    await flushPromises();
    h.cluster.put(withManagers("b", "1"));
    h.cluster.put(withManagers("a", "2"));
    for (const name of ["a", "b"]) expect(h.informer.get(name, "ns")?.metadata).not.toHaveProperty("managedFields");
    expect(h.informer.get("a", "ns")?.metadata?.resourceVersion).toBe("2");
    await h.informer.stop();
  });

  it("forwards watch events: changes to onChange, deletions to onDelete", async () => {
    const h = harness();
    h.informer.start();
    await flushPromises();
    h.cluster.put(cm("a"));
    h.cluster.put(cm("a", "2"));
    h.cluster.remove(cm("a", "2"));
    expect(h.changed).toEqual(["ns/a", "ns/a"]);
    expect(h.deleted).toEqual(["ns/a"]);
    await h.informer.stop();
  });

  it("restarts after an error with backoff, and reports what changed during the gap", async () => {
    const h = harness({}, [cm("a"), cm("b")]);
    h.informer.start();
    await flushPromises();
    h.changed.length = 0;

    h.cluster.watching?.emit("error", new Error("watch broke"));
    h.cluster.remove(cm("a"), true); // deleted while nobody watched
    h.cluster.put(cm("c"), true); // created while nobody watched
    expect(h.informer.restarts).toBe(1);
    expect(h.informer.get("a", "ns")).toBeDefined(); // the old cache keeps serving meanwhile

    await h.clock.advance(999);
    expect(h.cluster.sources).toHaveLength(1);
    await h.clock.advance(1);
    expect(h.cluster.sources).toHaveLength(2);
    expect(h.deleted).toEqual(["ns/a"]);
    expect(h.changed.sort()).toEqual(["ns/b", "ns/c"]);
    expect(h.informer.get("a", "ns")).toBeUndefined();
    await h.informer.stop();
  });

  it("backs off exponentially while lists keep failing, up to the cap", async () => {
    const h = harness({ restartInitialDelayMs: 1000, restartMaxDelayMs: 4000 });
    h.cluster.listError = new Error("forbidden");
    h.informer.start();
    const startedAt: number[] = [h.clock.now()];
    let seen = 1;
    for (let step = 0; step < 20_000; step += 100) {
      await h.clock.advance(100);
      if (h.cluster.sources.length > seen) {
        seen = h.cluster.sources.length;
        startedAt.push(h.clock.now());
      }
    }
    const gaps = startedAt.slice(1).map((t, i) => t - (startedAt[i] ?? 0));
    expect(gaps.slice(0, 5)).toEqual([1000, 2000, 4000, 4000, 4000]);
    expect(h.informer.hasSynced()).toBe(false);
    expect(await h.informer.waitForSync(AbortSignal.abort())).toBe(false);
    await h.informer.stop();
  });

  it("relists periodically and resyncs every key, without counting a restart", async () => {
    const h = harness({ relistIntervalMs: 60_000 }, [cm("a")]);
    h.informer.start();
    await flushPromises();
    h.cluster.put(cm("b"), true); // an event the watch lost
    h.changed.length = 0;
    await h.clock.advance(60_000);
    expect(h.informer.relists).toBe(1);
    expect(h.informer.restarts).toBe(0);
    expect(h.changed.sort()).toEqual(["ns/a", "ns/b"]);
    expect(h.cluster.sources[0]?.stopped).toBe(true);
    await h.informer.stop();
  });

  it("restarts a watch that went silent, while reconnects keep a quiet one alive", async () => {
    const h = harness({ staleAfterMs: 60_000, relistIntervalMs: 0 });
    h.informer.start();
    await flushPromises();
    for (let i = 0; i < 5; i += 1) {
      await h.clock.advance(30_000);
      h.cluster.watching?.emit("connect"); // client-node reconnects an idle watch every 30 s
    }
    expect(h.informer.restarts).toBe(0);
    expect(h.informer.lastEventAgeMs()).toBe(0);

    await h.clock.advance(75_000);
    expect(h.informer.restarts).toBe(1);
    expect(h.cluster.sources).toHaveLength(2);
    await h.informer.stop();
  });

  it("abandons a list that never returns once it is stale", async () => {
    const h = harness({ staleAfterMs: 10_000 });
    h.cluster.holdLists = true;
    h.informer.start();
    await h.clock.advance(15_000);
    expect(h.cluster.sources.length).toBeGreaterThanOrEqual(2);
    expect(h.cluster.sources[0]?.stopped).toBe(true);
    h.cluster.holdLists = false;
    await h.clock.advance(15_000);
    expect(h.informer.hasSynced()).toBe(true);

    // The abandoned list finally returns: client-node would now open a watch, so it is stopped again.
    const abandoned = h.cluster.sources[0];
    const stopsBefore = abandoned?.stopCalls ?? 0;
    h.cluster.heldLists[0]?.();
    await flushPromises();
    expect(abandoned?.stopCalls).toBe(stopsBefore + 1);
    expect(h.informer.restarts).toBeGreaterThanOrEqual(1);
    await h.informer.stop();
  });

  it("keeps going when a handler throws", async () => {
    const h = harness({}, [cm("a"), cm("b")]);
    h.informer.addEventHandler({
      onChange: () => {
        throw new Error("handler bug");
      },
    });
    h.informer.start();
    await flushPromises();
    expect(h.changed).toHaveLength(2);
    await h.informer.stop();
  });

  it("stops calling handlers and timers after stop()", async () => {
    const h = harness({ staleAfterMs: 10_000 }, [cm("a")]);
    h.informer.start();
    await flushPromises();
    const watching = h.cluster.watching;
    await h.informer.stop();
    h.changed.length = 0;
    watching?.apply("add", cm("z"));
    watching?.emit("error", new Error("late"));
    await h.clock.advance(60_000);
    expect(h.changed).toEqual([]);
    expect(h.informer.restarts).toBe(0);
    expect(h.clock.pending).toBe(0);
    expect(await h.informer.waitForSync()).toBe(true);
  });
});
