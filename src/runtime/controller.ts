import { randomUUID } from "node:crypto";
import { sleep, systemClock, type Clock } from "./clock.js";
import { describeError, isTerminalError } from "./errors.js";
import { silentLogger, type LogFields, type Logger } from "../ports/logger.js";
import { WorkQueue } from "./work-queue.js";

/** What a reconcile asks for after succeeding. */
export interface ReconcileResult {
  /** Run this key again after this many ms (approval expiry, polling an external system). */
  readonly requeueAfterMs?: number;
}

/**
 * Brings the object named by `key` (`namespace/name`) to its desired state, reading the current
 * state itself: the key says *what* to look at, never *what happened* (level-triggered, so there
 * is no create/update/delete branching). It must be idempotent — it runs again after failures,
 * on every resync, and possibly for changes it already handled.
 *
 * `signal` aborts when the controller's shutdown deadline passes; pass it to slow calls.
 *
 * Outcomes:
 * - resolves (void or `{}`) → success, the key's backoff is forgotten;
 * - resolves `{ requeueAfterMs: n > 0 }` → success, the key runs again after n ms;
 * - rejects with `TerminalError` → not retried (surface the reason in a condition first);
 * - rejects with anything else → retried with per-key exponential backoff, until `maxRetries`
 *   consecutive failures, then dropped (counted in `drops`) until something enqueues it again.
 *   A `requeueAfterMs` is meaningless with an error and cannot be combined with it.
 */
export type ReconcileFn = (key: string, signal: AbortSignal) => Promise<ReconcileResult | void>;

export interface ControllerOptions {
  /** Used in logs, e.g. `approval-request`. */
  readonly name: string;
  readonly reconcile: ReconcileFn;
  /** Concurrent workers. A key is never reconciled by two workers at once. Default 1. */
  readonly workers?: number;
  /** Consecutive failures after which a key is dropped (Kyverno `maxRetries`). Default 15. */
  readonly maxRetries?: number;
  /** How long `stop()` waits for in-flight reconciles before aborting them. Default 30 s. */
  readonly shutdownTimeoutMs?: number;
  /** Default: a new `WorkQueue` with the default controller rate limiter. */
  readonly queue?: WorkQueue;
  readonly logger?: Logger;
  readonly clock?: Clock;
}

/**
 * Runs `reconcile` for queued keys on N workers, following controller-runtime's
 * `reconcileHandler` rules (see `ReconcileFn`). Counters are plain getters so the metrics layer
 * can export them without the runtime depending on prom-client.
 */
export class Controller {
  readonly name: string;
  readonly queue: WorkQueue;
  private readonly reconcileFn: ReconcileFn;
  private readonly workerCount: number;
  private readonly maxRetries: number;
  private readonly shutdownTimeoutMs: number;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly abort = new AbortController();
  private workers: Promise<void>[] = [];
  private stopping: Promise<void> | undefined;
  private inFlightCount = 0;
  private reconcileCount = 0;
  private errorCount = 0;
  private terminalCount = 0;
  private dropCount = 0;

  constructor(options: ControllerOptions) {
    this.name = options.name;
    this.reconcileFn = options.reconcile;
    this.workerCount = options.workers ?? 1;
    this.maxRetries = options.maxRetries ?? 15;
    this.shutdownTimeoutMs = options.shutdownTimeoutMs ?? 30_000;
    this.clock = options.clock ?? systemClock;
    this.queue = options.queue ?? new WorkQueue({ clock: this.clock });
    this.logger = options.logger ?? silentLogger;
    if (!Number.isInteger(this.workerCount) || this.workerCount < 1) {
      throw new RangeError(`workers must be a positive integer, got ${this.workerCount}`);
    }
  }

  /** Queues `key` for reconciliation; idempotent while it is already queued. */
  enqueue(key: string): void {
    this.queue.add(key);
  }

  /** Starts the workers. Calling it twice has no effect. */
  start(): void {
    if (this.workers.length > 0 || this.stopping) return;
    this.workers = Array.from({ length: this.workerCount }, (_, index) => this.runWorker(index));
    this.logger.info({ controller: this.name, workers: this.workerCount }, "controller started");
  }

  /**
   * Stops taking keys, waits for in-flight reconciles to finish, and after `shutdownTimeoutMs`
   * aborts their signal and returns without waiting further. Safe to call more than once.
   */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /** Reconcile attempts started. */
  get reconciles(): number {
    return this.reconcileCount;
  }

  /** Reconcile attempts that failed (terminal ones included). */
  get errors(): number {
    return this.errorCount;
  }

  /** Failures that were not retried because they were `TerminalError`s. */
  get terminalErrors(): number {
    return this.terminalCount;
  }

  /** Keys dropped after `maxRetries` consecutive failures. */
  get drops(): number {
    return this.dropCount;
  }

  /** Reconciles running right now. */
  get inFlight(): number {
    return this.inFlightCount;
  }

  private async shutdown(): Promise<void> {
    this.queue.shutDown();
    const deadline = new AbortController();
    const finished = Promise.allSettled(this.workers).then(() => true);
    const timedOut = sleep(this.clock, this.shutdownTimeoutMs, deadline.signal).then(() => false);
    const clean = await Promise.race([finished, timedOut]);
    deadline.abort();
    if (!clean) {
      this.logger.warn(
        { controller: this.name, inFlight: this.inFlightCount, timeoutMs: this.shutdownTimeoutMs },
        "shutdown deadline passed; aborting in-flight reconciles",
      );
    }
    this.abort.abort();
    this.logger.info({ controller: this.name, clean }, "controller stopped");
  }

  private async runWorker(worker: number): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      await this.processKey(key, worker);
    }
  }

  private async processKey(key: string, worker: number): Promise<void> {
    const fields = { controller: this.name, key, worker, reconcileId: randomUUID() };
    this.reconcileCount += 1;
    this.inFlightCount += 1;
    try {
      const result = await this.reconcileFn(key, this.abort.signal);
      this.handleSuccess(key, result ?? {});
    } catch (err) {
      this.handleFailure(key, err, fields);
    } finally {
      this.inFlightCount -= 1;
      this.queue.done(key);
    }
  }

  private handleSuccess(key: string, result: ReconcileResult): void {
    this.queue.forget(key);
    const after = result.requeueAfterMs;
    if (after !== undefined && after > 0) this.queue.addAfter(key, after);
  }

  private handleFailure(key: string, err: unknown, context: LogFields): void {
    this.errorCount += 1;
    const fields = { ...context, err, error: describeError(err) };
    if (isTerminalError(err)) {
      this.terminalCount += 1;
      this.queue.forget(key);
      this.logger.error(fields, "reconcile failed with a terminal error; not retrying");
      return;
    }
    if (this.queue.numRequeues(key) >= this.maxRetries) {
      this.dropCount += 1;
      this.queue.forget(key);
      this.logger.error({ ...fields, maxRetries: this.maxRetries }, "reconcile kept failing; dropping the key");
      return;
    }
    this.queue.addRateLimited(key);
    this.logger.warn({ ...fields, failures: this.queue.numRequeues(key) }, "reconcile failed; retrying with backoff");
  }
}
