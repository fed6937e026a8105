import { describe, expect, it } from "vitest";
import { Controller, type ReconcileFn, type ReconcileResult } from "../../../src/runtime/controller.js";
import { TerminalError } from "../../../src/runtime/errors.js";
import type { LogFields, Logger } from "../../../src/ports/logger.js";
import { ExponentialBackoffRateLimiter } from "../../../src/runtime/rate-limiter.js";
import { WorkQueue } from "../../../src/runtime/work-queue.js";
import { FakeClock, flushPromises } from "./fake-clock.js";

interface LogLine {
  level: "info" | "warn" | "error";
  fields: LogFields;
  message: string;
}

function recordingLogger(): Logger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    info: (fields, message) => lines.push({ level: "info", fields, message }),
    warn: (fields, message) => lines.push({ level: "warn", fields, message }),
    error: (fields, message) => lines.push({ level: "error", fields, message }),
  };
}

interface Setup {
  clock: FakeClock;
  controller: Controller;
  logger: ReturnType<typeof recordingLogger>;
}

function setup(
  reconcile: ReconcileFn,
  options: { workers?: number; maxRetries?: number; shutdownTimeoutMs?: number } = {},
): Setup {
  const clock = new FakeClock();
  const logger = recordingLogger();
  // 100 ms, 200 ms, 400 ms … with no jitter, so the test can reason about retry times.
  const rateLimiter = new ExponentialBackoffRateLimiter({ baseDelayMs: 100, maxDelayMs: 10_000, jitter: 0 });
  const queue = new WorkQueue({ clock, rateLimiter });
  const controller = new Controller({ name: "test", reconcile, queue, clock, logger, ...options });
  return { clock, controller, logger };
}

/** A reconcile from a synchronous body; a throw becomes a rejection, as with an async function. */
function sync(body: (key: string) => ReconcileResult | void): ReconcileFn {
  return (key) => new Promise((resolve) => resolve(body(key)));
}

/** A promise the test resolves by hand, to hold a reconcile in flight. */
function gate(): { promise: Promise<void>; open: () => void } {
  let open = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

describe("Controller", () => {
  it("reconciles an enqueued key once and forgets its backoff on success", async () => {
    const seen: string[] = [];
    const { controller } = setup(
      sync((key) => {
        seen.push(key);
      }),
    );
    controller.start();
    controller.enqueue("ns/a");
    await flushPromises();
    expect(seen).toEqual(["ns/a"]);
    expect(controller.reconciles).toBe(1);
    expect(controller.errors).toBe(0);
    expect(controller.queue.numRequeues("ns/a")).toBe(0);
    await controller.stop();
  });

  it("retries a failing key with growing backoff and then succeeds", async () => {
    let calls = 0;
    const times: number[] = [];
    const { controller, clock, logger } = setup(
      sync(() => {
        times.push(clock.now());
        calls += 1;
        if (calls < 3) throw new Error("apiserver unavailable");
      }),
    );
    const start = clock.now();
    controller.start();
    controller.enqueue("ns/a");
    await clock.advance(1000);
    expect(times.map((t) => t - start)).toEqual([0, 100, 300]);
    expect(controller.errors).toBe(2);
    expect(controller.queue.numRequeues("ns/a")).toBe(0);
    const warn = logger.lines.find((l) => l.level === "warn");
    expect(warn?.fields).toMatchObject({ controller: "test", key: "ns/a", error: "apiserver unavailable" });
    expect(warn?.fields["err"]).toBeInstanceOf(Error);
    await controller.stop();
  });

  it("drops a key after maxRetries consecutive failures, counts and logs it", async () => {
    let calls = 0;
    const { controller, clock, logger } = setup(
      sync(() => {
        calls += 1;
        throw new Error("still broken");
      }),
      { maxRetries: 3 },
    );
    controller.start();
    controller.enqueue("ns/a");
    await clock.advance(60_000);
    expect(calls).toBe(4); // the first attempt plus 3 retries
    expect(controller.drops).toBe(1);
    expect(controller.errors).toBe(4);
    expect(clock.pending).toBe(0);
    expect(logger.lines.filter((l) => l.level === "error")).toHaveLength(1);

    // A later event brings it back with a fresh backoff.
    controller.enqueue("ns/a");
    await flushPromises();
    expect(calls).toBe(5);
    expect(controller.queue.numRequeues("ns/a")).toBe(1);
    await controller.stop();
  });

  it("does not retry a TerminalError", async () => {
    let calls = 0;
    const { controller, clock } = setup(
      sync(() => {
        calls += 1;
        throw new TerminalError("invalid spec");
      }),
    );
    controller.start();
    controller.enqueue("ns/a");
    await clock.advance(60_000);
    expect(calls).toBe(1);
    expect(controller.terminalErrors).toBe(1);
    expect(controller.errors).toBe(1);
    expect(controller.drops).toBe(0);
    await controller.stop();
  });

  it("requeues after requeueAfterMs and resets the failure count", async () => {
    const times: number[] = [];
    let calls = 0;
    const { controller, clock } = setup(
      sync(() => {
        times.push(clock.now());
        calls += 1;
        if (calls === 1) throw new Error("once");
        return calls === 2 ? { requeueAfterMs: 5000 } : undefined;
      }),
    );
    const start = clock.now();
    controller.start();
    controller.enqueue("ns/a");
    await clock.advance(10_000);
    expect(times.map((t) => t - start)).toEqual([0, 100, 5100]);
    expect(controller.queue.numRequeues("ns/a")).toBe(0);
    await controller.stop();
  });

  it("runs different keys in parallel on several workers, but one key never twice at once", async () => {
    const running = new Set<string>();
    let maxParallel = 0;
    const held = gate();
    const { controller } = setup(
      async (key) => {
        expect(running.has(key)).toBe(false);
        running.add(key);
        maxParallel = Math.max(maxParallel, running.size);
        await held.promise;
        running.delete(key);
      },
      { workers: 3 },
    );
    controller.start();
    controller.enqueue("ns/a");
    controller.enqueue("ns/b");
    await flushPromises();
    controller.enqueue("ns/a"); // arrives while ns/a is in flight
    await flushPromises();
    expect(controller.inFlight).toBe(2);
    held.open();
    await flushPromises();
    expect(maxParallel).toBe(2);
    expect(controller.reconciles).toBe(3);
    await controller.stop();
  });

  it("stop() lets in-flight reconciles finish and takes no new keys", async () => {
    const held = gate();
    const seen: string[] = [];
    let aborted = false;
    const { controller } = setup(async (key, signal) => {
      seen.push(key);
      await held.promise;
      aborted = signal.aborted;
    });
    controller.start();
    controller.enqueue("ns/a");
    await flushPromises();
    controller.enqueue("ns/b");
    const stopped = controller.stop();
    held.open();
    await stopped;
    expect(seen).toEqual(["ns/a"]);
    expect(aborted).toBe(false);
    expect(controller.inFlight).toBe(0);
  });

  it("stop() aborts the signal of reconciles still running at the deadline", async () => {
    let signalSeen: AbortSignal | undefined;
    const { controller, clock, logger } = setup(
      (_key, signal) => {
        signalSeen = signal;
        return new Promise<void>(() => undefined); // never finishes
      },
      { shutdownTimeoutMs: 5000 },
    );
    controller.start();
    controller.enqueue("ns/a");
    await flushPromises();
    let done = false;
    const stopped = controller.stop().then(() => {
      done = true;
    });
    await clock.advance(4999);
    expect(done).toBe(false);
    await clock.advance(1);
    await stopped;
    expect(signalSeen?.aborted).toBe(true);
    expect(logger.lines.some((l) => l.level === "warn" && l.message.includes("deadline"))).toBe(true);
  });

  it("rejects a non-positive worker count", () => {
    expect(() => new Controller({ name: "x", reconcile: sync(() => undefined), workers: 0 })).toThrow(RangeError);
  });
});
