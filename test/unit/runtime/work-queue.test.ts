import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ExponentialBackoffRateLimiter } from "../../../src/runtime/rate-limiter.js";
import { WorkQueue } from "../../../src/runtime/work-queue.js";
import { FakeClock, flushPromises } from "./fake-clock.js";

function newQueue(clock = new FakeClock()): { queue: WorkQueue; clock: FakeClock } {
  const rateLimiter = new ExponentialBackoffRateLimiter({ baseDelayMs: 5, maxDelayMs: 1000, jitter: 0 });
  return { queue: new WorkQueue({ clock, rateLimiter }), clock };
}

/** Whether a promise has settled, without waiting for it. */
async function settled<T>(promise: Promise<T>): Promise<{ done: boolean; value?: T }> {
  let state: { done: boolean; value?: T } = { done: false };
  void promise.then((value) => {
    state = { done: true, value };
  });
  await flushPromises();
  return state;
}

describe("WorkQueue", () => {
  it("deduplicates keys that are already queued and keeps FIFO order", async () => {
    const { queue } = newQueue();
    queue.add("ns/a");
    queue.add("ns/b");
    queue.add("ns/a");
    expect(queue.length).toBe(2);
    expect(await queue.get()).toBe("ns/a");
    expect(await queue.get()).toBe("ns/b");
  });

  it("never hands a key to a second consumer while it is processing", async () => {
    const { queue } = newQueue();
    queue.add("ns/a");
    expect(await queue.get()).toBe("ns/a");
    queue.add("ns/a");
    expect(queue.length).toBe(0);
    const second = await settled(queue.get());
    expect(second.done).toBe(false);
  });

  it("re-queues a key added during processing once it is done", async () => {
    const { queue } = newQueue();
    queue.add("ns/a");
    await queue.get();
    queue.add("ns/a");
    queue.add("ns/a");
    const waiting = queue.get();
    queue.done("ns/a");
    expect(await waiting).toBe("ns/a");
    queue.done("ns/a");
    expect(queue.length).toBe(0);
    expect(queue.processingCount).toBe(0);
  });

  it("does not re-queue a key that was not added during processing", async () => {
    const { queue } = newQueue();
    queue.add("ns/a");
    await queue.get();
    queue.done("ns/a");
    expect(queue.length).toBe(0);
  });

  it("wakes a waiting consumer when a key arrives", async () => {
    const { queue } = newQueue();
    const waiting = queue.get();
    expect((await settled(waiting)).done).toBe(false);
    queue.add("ns/a");
    expect(await waiting).toBe("ns/a");
  });

  it("addAfter queues the key only once the delay has passed, keeping the earliest of several", async () => {
    const { queue, clock } = newQueue();
    queue.addAfter("ns/a", 1000);
    queue.addAfter("ns/a", 300);
    queue.addAfter("ns/a", 5000);
    await clock.advance(299);
    expect(queue.length).toBe(0);
    await clock.advance(1);
    expect(queue.length).toBe(1);
    await clock.advance(10_000);
    expect(queue.length).toBe(1);
    expect(clock.pending).toBe(0);
  });

  it("addAfter with a non-positive delay adds immediately", () => {
    const { queue } = newQueue();
    queue.addAfter("ns/a", 0);
    expect(queue.length).toBe(1);
  });

  it("addRateLimited backs off exponentially per key until forget", async () => {
    const { queue, clock } = newQueue();
    const delays: number[] = [];
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const before = clock.now();
      queue.addRateLimited("ns/a");
      while (queue.length === 0) await clock.advance(1);
      delays.push(clock.now() - before);
      queue.done((await queue.get()) ?? "");
    }
    expect(delays).toEqual([5, 10, 20, 40]);
    expect(queue.numRequeues("ns/a")).toBe(4);
    expect(queue.numRequeues("ns/b")).toBe(0);
    queue.forget("ns/a");
    expect(queue.numRequeues("ns/a")).toBe(0);
  });

  it("shutDown resolves waiting consumers with undefined and ignores later adds", async () => {
    const { queue, clock } = newQueue();
    const first = queue.get();
    const second = queue.get();
    queue.addAfter("ns/delayed", 100);
    queue.shutDown();
    expect(await first).toBeUndefined();
    expect(await second).toBeUndefined();
    queue.add("ns/a");
    expect(queue.length).toBe(0);
    expect(await queue.get()).toBeUndefined();
    expect(clock.pending).toBe(0);
    expect(queue.isShuttingDown()).toBe(true);
  });

  it("shutDown discards queued keys but lets processing keys finish", async () => {
    const { queue } = newQueue();
    queue.add("ns/a");
    queue.add("ns/b");
    await queue.get();
    queue.add("ns/a");
    queue.shutDown();
    expect(await queue.get()).toBeUndefined();
    queue.done("ns/a");
    expect(queue.length).toBe(0);
  });

  it("shutDownWithDrain hands out queued keys and resolves once everything is done", async () => {
    const { queue } = newQueue();
    queue.add("ns/a");
    queue.add("ns/b");
    expect(await queue.get()).toBe("ns/a");
    queue.add("ns/a"); // dirty before the drain: runs once more
    const drained = queue.shutDownWithDrain();
    queue.add("ns/c"); // ignored: the queue is shutting down
    expect(await queue.get()).toBe("ns/b");
    queue.done("ns/b");
    expect((await settled(drained)).done).toBe(false);
    const again = queue.get();
    queue.done("ns/a");
    expect(await again).toBe("ns/a");
    const last = queue.get();
    queue.done("ns/a");
    expect(await last).toBeUndefined();
    expect((await settled(drained)).done).toBe(true);
  });

  it("shutDownWithDrain resolves at once on an idle queue, and twice returns the same promise", async () => {
    const { queue } = newQueue();
    const drained = queue.shutDownWithDrain();
    expect(queue.shutDownWithDrain()).toBe(drained);
    expect((await settled(drained)).done).toBe(true);
  });

  it("shutDown during a drain ends it", async () => {
    const { queue } = newQueue();
    queue.add("ns/a");
    await queue.get();
    const drained = queue.shutDownWithDrain();
    queue.shutDown();
    expect((await settled(drained)).done).toBe(true);
  });

  // Model check of the three client-go guarantees under random interleavings of add/get/done:
  // no key is handed out twice concurrently, queued keys are unique, and no add is ever lost.
  it("keeps its guarantees under any interleaving of add, get and done", async () => {
    const keys = ["a", "b", "c"];
    const op = fc.oneof(
      fc.record({ kind: fc.constant("add" as const), key: fc.constantFrom(...keys) }),
      fc.record({ kind: fc.constant("get" as const) }),
      fc.record({ kind: fc.constant("done" as const), index: fc.nat() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
        const { queue } = newQueue();
        const processing: string[] = [];
        const needsRun = new Set<string>(); // added since it was last handed out
        const take = async (): Promise<void> => {
          const key = await queue.get();
          if (key === undefined) throw new Error("queue returned undefined while live");
          expect(processing).not.toContain(key);
          processing.push(key);
          needsRun.delete(key);
        };
        for (const step of ops) {
          if (step.kind === "add") {
            queue.add(step.key);
            needsRun.add(step.key);
          } else if (step.kind === "get" && queue.length > 0) {
            await take();
          } else if (step.kind === "done" && processing.length > 0) {
            const [key] = processing.splice(step.index % processing.length, 1);
            queue.done(key ?? "");
          }
        }
        // Finish everything: every key added after its last hand-out must come out again.
        while (processing.length > 0 || queue.length > 0) {
          if (queue.length > 0) await take();
          else queue.done(processing.shift() ?? "");
        }
        expect([...needsRun]).toEqual([]);
      }),
    );
  });
});
