import { systemClock, type CancelTimer, type Clock } from "./clock.js";
import { defaultControllerRateLimiter, type RateLimiter } from "./rate-limiter.js";

export interface WorkQueueOptions {
  readonly clock?: Clock;
  /** Decides `addRateLimited` delays. Default: `defaultControllerRateLimiter(clock)`. */
  readonly rateLimiter?: RateLimiter;
}

interface DelayedAdd {
  readonly readyAt: number;
  readonly cancel: CancelTimer;
}

type Waiter = (key: string | undefined) => void;

/**
 * A rate-limited work queue of string keys (`namespace/name`) with client-go's semantics
 * (`util/workqueue/queue.go`). Keys are the only payload: consumers re-read current state, so
 * coalescing many events for one key into one run loses nothing.
 *
 * - `add` of a key that is already queued does nothing (dedup).
 * - A key handed out by `get` is *processing* until `done`; it is never handed to a second
 *   consumer meanwhile. Adding it again while processing marks it dirty, and `done` puts it back
 *   in the queue, so the change that arrived during processing is not lost.
 * - Every `get` must be followed by exactly one `done(key)`, whatever the outcome.
 *
 * Shutdown: `shutDown()` stops immediately (queued keys are discarded, waiting and future `get`s
 * resolve `undefined`); `shutDownWithDrain()` keeps handing out queued keys and resolves once
 * nothing is queued or processing. Both discard pending `addAfter` timers and ignore later adds.
 * Discarding is safe because keys are level-triggered: the next start (or the next leader)
 * relists and enqueues everything again.
 */
export class WorkQueue {
  private readonly clock: Clock;
  private readonly rateLimiter: RateLimiter;
  private readonly queue: string[] = [];
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly delayed = new Map<string, DelayedAdd>();
  private readonly waiters: Waiter[] = [];
  private shuttingDown = false;
  private draining = false;
  private drainedPromise: Promise<void> | undefined;
  private drained: (() => void) | undefined;

  constructor(options: WorkQueueOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.rateLimiter = options.rateLimiter ?? defaultControllerRateLimiter(this.clock);
  }

  /** Queues `key` unless it is already queued; ignored after shutdown. */
  add(key: string): void {
    if (this.shuttingDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.queue.push(key);
    this.dispatch();
  }

  /**
   * Queues `key` after `delayMs`. Several pending delays for one key collapse into the earliest,
   * as in client-go's delaying queue; a plain `add` meanwhile does not cancel it.
   */
  addAfter(key: string, delayMs: number): void {
    if (this.shuttingDown) return;
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const readyAt = this.clock.now() + delayMs;
    const pending = this.delayed.get(key);
    if (pending && pending.readyAt <= readyAt) return;
    pending?.cancel();
    const cancel = this.clock.setTimer(() => {
      this.delayed.delete(key);
      this.add(key);
    }, delayMs);
    this.delayed.set(key, { readyAt, cancel });
  }

  /** Queues `key` after the rate limiter's delay, recording one more failure for it. */
  addRateLimited(key: string): void {
    if (this.shuttingDown) return;
    this.addAfter(key, this.rateLimiter.when(key));
  }

  /** Clears the failure history of `key` (call after it was processed successfully). */
  forget(key: string): void {
    this.rateLimiter.forget(key);
  }

  /** Failures recorded for `key` since its last `forget`. */
  numRequeues(key: string): number {
    return this.rateLimiter.numRequeues(key);
  }

  /**
   * The next key to process, waiting until one is available. Resolves `undefined` once the
   * queue is shut down (after a drain: once it is empty); the caller's worker should then exit.
   */
  get(): Promise<string | undefined> {
    const key = this.takeNext();
    if (key !== undefined || this.isFinished()) return Promise.resolve(key);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Ends processing of `key`; if it was added meanwhile, it is queued again. */
  done(key: string): void {
    this.processing.delete(key);
    // A hard shutDown clears `dirty`, so only a live or draining queue re-queues here.
    if (this.dirty.has(key)) this.queue.push(key);
    this.dispatch();
  }

  /** Stops now: queued keys are discarded and every waiting `get` resolves `undefined`. */
  shutDown(): void {
    this.beginShutdown();
    this.queue.length = 0;
    this.dirty.clear();
    this.draining = false;
    this.dispatch();
  }

  /**
   * Stops accepting new keys, lets consumers finish what is queued and processing, and resolves
   * when both are empty. Calling `shutDown()` meanwhile ends the drain early.
   */
  shutDownWithDrain(): Promise<void> {
    if (this.drainedPromise) return this.drainedPromise;
    this.draining = !this.shuttingDown;
    this.beginShutdown();
    this.drainedPromise = new Promise<void>((resolve) => {
      this.drained = resolve;
    });
    this.dispatch();
    return this.drainedPromise;
  }

  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  /** Number of keys waiting to be handed out (not counting processing or delayed ones). */
  get length(): number {
    return this.queue.length;
  }

  /** Number of keys currently handed out and not yet `done`. */
  get processingCount(): number {
    return this.processing.size;
  }

  private beginShutdown(): void {
    this.shuttingDown = true;
    for (const pending of this.delayed.values()) pending.cancel();
    this.delayed.clear();
  }

  private takeNext(): string | undefined {
    if (this.shuttingDown && !this.draining) return undefined;
    const key = this.queue.shift();
    if (key === undefined) return undefined;
    this.processing.add(key);
    this.dirty.delete(key);
    return key;
  }

  /** After a shutdown, nothing more will ever be handed out. */
  private isFinished(): boolean {
    if (!this.shuttingDown) return false;
    if (!this.draining) return true;
    return this.queue.length === 0 && this.processing.size === 0;
  }

  /** Hands queued keys to waiting consumers, and settles everything once finished. */
  private dispatch(): void {
    while (this.waiters.length > 0) {
      const key = this.takeNext();
      if (key === undefined) break;
      this.waiters.shift()?.(key);
    }
    if (!this.isFinished()) return;
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
    this.drained?.();
    this.drained = undefined;
  }
}
