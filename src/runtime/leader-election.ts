import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import type { V1Lease } from "@kubernetes/client-node";
import { sleep, systemClock, type Clock, type RandomSource } from "./clock.js";
import { describeError } from "./errors.js";
import {
  leaseSpecFor,
  nextRecord,
  observeLease,
  readLeaseRecord,
  releasedRecord,
  shouldAcquire,
  type LeaseObservation,
  type LeaseRecord,
} from "./lease.js";
import { silentLogger, type Logger } from "../ports/logger.js";

/**
 * The three Lease calls leader election makes. client-node's `CoordinationV1Api`
 * (`kubeConfig.makeApiClient(CoordinationV1Api)`) satisfies it as is.
 */
export interface LeaseApi {
  readNamespacedLease(param: { name: string; namespace: string }): Promise<V1Lease>;
  createNamespacedLease(param: { namespace: string; body: V1Lease }): Promise<V1Lease>;
  replaceNamespacedLease(param: { name: string; namespace: string; body: V1Lease }): Promise<V1Lease>;
}

export interface LeaderElectorOptions {
  readonly api: LeaseApi;
  readonly namespace: string;
  readonly name: string;
  /** Unique per replica. Default: hostname plus a random suffix, so restarts never reuse one. */
  readonly identity?: string;
  /** How long a lease stays valid without renewal. Default 15. */
  readonly leaseDurationSeconds?: number;
  /** A leader that could not renew for this long stops leading. Default 10 000. */
  readonly renewDeadlineMs?: number;
  /** Pause between acquire/renew attempts (acquire attempts add up to 120 % jitter). Default 2000. */
  readonly retryPeriodMs?: number;
  /**
   * Called on becoming leader. `signal` aborts when leadership ends; stop the leader-only work
   * then. A rejection is logged, it does not give up the lease.
   */
  readonly onStartedLeading?: (signal: AbortSignal) => void | Promise<void>;
  /**
   * Called when leadership ends (lost or `stop()`), after `signal` aborted. On `stop()` the lease
   * is released only after this settles, so drain leader-only work here to never overlap with
   * the next leader.
   */
  readonly onStoppedLeading?: () => void | Promise<void>;
  /** Release the lease on `stop()` unless told otherwise. Default true. */
  readonly releaseOnStop?: boolean;
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly random?: RandomSource;
}

export interface StopOptions {
  /** Override `releaseOnStop`; `false` simulates a crash: the others wait out the lease. */
  readonly release?: boolean;
}

type Attempt = "held" | "held-by-other" | "failed";

const JITTER_FACTOR = 1.2;

/** Default replica identity: hostname plus a random suffix. */
export function defaultIdentity(): string {
  return `${hostname()}_${randomUUID().slice(0, 8)}`;
}

/** The HTTP status of a client-node `ApiException` (or anything with a numeric `code`). */
function statusOf(err: unknown): number | undefined {
  if (typeof err !== "object" || err === null || !("code" in err)) return undefined;
  return typeof err.code === "number" ? err.code : undefined;
}

/**
 * Lease-based leader election (client-go `tools/leaderelection` with a `LeaseLock`).
 *
 * Candidates read the Lease every retry period; one that finds it missing creates it, one that
 * finds it free, expired or its own writes itself in with `replace` carrying the resourceVersion
 * it read, so two candidates racing for an expired lease cannot both win (the loser gets 409).
 * The leader renews every retry period; if it cannot for `renewDeadlineMs`, or sees someone else
 * holding the lease, it stops leading and becomes a candidate again. `renewDeadlineMs` is shorter
 * than the lease, so a leader that lost contact stops before another can take over.
 */
export class LeaderElector {
  readonly identity: string;
  private readonly api: LeaseApi;
  private readonly namespace: string;
  private readonly name: string;
  private readonly leaseDurationSeconds: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly releaseOnStop: boolean;
  private readonly onStartedLeading: (signal: AbortSignal) => void | Promise<void>;
  private readonly onStoppedLeading: () => void | Promise<void>;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly stopSignal = new AbortController();
  private observation: LeaseObservation | undefined;
  private leadership: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private stopping: Promise<void> | undefined;

  constructor(options: LeaderElectorOptions) {
    this.api = options.api;
    this.namespace = options.namespace;
    this.name = options.name;
    this.identity = options.identity ?? defaultIdentity();
    this.leaseDurationSeconds = options.leaseDurationSeconds ?? 15;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2000;
    this.releaseOnStop = options.releaseOnStop ?? true;
    this.onStartedLeading = options.onStartedLeading ?? (() => undefined);
    this.onStoppedLeading = options.onStoppedLeading ?? (() => undefined);
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.validateTimings();
  }

  /** Starts competing for the lease. Calling it twice has no effect. */
  start(): void {
    if (this.loop || this.stopping) return;
    this.loop = this.run().catch((err: unknown) => {
      this.logger.error({ ...this.fields(), err, error: describeError(err) }, "leader election loop failed");
    });
  }

  /**
   * Stops competing. If leading: aborts the leader signal, awaits `onStoppedLeading`, then
   * releases the lease (unless `release: false`). Safe to call more than once.
   */
  stop(options: StopOptions = {}): Promise<void> {
    this.stopping ??= this.shutdown(options.release ?? this.releaseOnStop);
    return this.stopping;
  }

  isLeader(): boolean {
    return this.leadership !== undefined;
  }

  /** The holder seen at the last read of the lease ("" when free, undefined before any read). */
  get observedHolder(): string | undefined {
    return this.observation?.record.holderIdentity;
  }

  private validateTimings(): void {
    const leaseMs = this.leaseDurationSeconds * 1000;
    if (!Number.isInteger(this.leaseDurationSeconds) || this.leaseDurationSeconds < 1) {
      throw new RangeError("leaseDurationSeconds must be a positive integer");
    }
    if (!(leaseMs > this.renewDeadlineMs && this.renewDeadlineMs > JITTER_FACTOR * this.retryPeriodMs)) {
      throw new RangeError("need leaseDuration > renewDeadline > 1.2 × retryPeriod");
    }
  }

  private get stopped(): boolean {
    return this.stopSignal.signal.aborted;
  }

  private fields(): Record<string, unknown> {
    return { lease: `${this.namespace}/${this.name}`, identity: this.identity };
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      await this.acquire();
      if (this.stopped) return;
      this.becomeLeader();
      const lost = await this.renewUntilLost();
      if (!lost) return;
      await this.stepDown();
    }
  }

  /** Retries with jitter until the lease is ours or we are stopped. */
  private async acquire(): Promise<void> {
    while (!this.stopped) {
      if ((await this.tryAcquireOrRenew()) === "held") return;
      const delay = this.retryPeriodMs * (1 + JITTER_FACTOR * this.random());
      await sleep(this.clock, delay, this.stopSignal.signal);
    }
  }

  /** Renews every retry period; resolves true when leadership is lost, false when stopped. */
  private async renewUntilLost(): Promise<boolean> {
    let lastRenewAt = this.clock.now();
    while (!this.stopped) {
      await sleep(this.clock, this.retryPeriodMs, this.stopSignal.signal);
      if (this.stopped) return false;
      const attemptAt = this.clock.now();
      const attempt = await this.renewBefore(lastRenewAt + this.renewDeadlineMs);
      if (attempt === "held") lastRenewAt = attemptAt;
      if (attempt === "held-by-other" || attempt === "deadline") return !this.stopped;
      if (this.clock.now() - lastRenewAt >= this.renewDeadlineMs) return !this.stopped;
    }
    return false;
  }

  /** One renewal that gives up at `deadline` even if the apiserver never answers. */
  private async renewBefore(deadline: number): Promise<Attempt | "deadline"> {
    const remaining = deadline - this.clock.now();
    if (remaining <= 0) return "deadline";
    const timer = new AbortController();
    const expired = sleep(this.clock, remaining, timer.signal).then(() => "deadline" as const);
    const attempt = await Promise.race([this.tryAcquireOrRenew(), expired]);
    timer.abort();
    if (attempt === "deadline")
      this.logger.warn(this.fields(), "lease renewal did not finish before the renew deadline");
    return attempt;
  }

  private async tryAcquireOrRenew(): Promise<Attempt> {
    let lease: V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name: this.name, namespace: this.namespace });
    } catch (err) {
      if (statusOf(err) === 404) return this.tryCreate();
      return this.failed(err, "reading the lease failed");
    }
    const now = this.clock.now();
    const record = readLeaseRecord(lease, this.leaseDurationSeconds);
    this.observation = observeLease(this.observation, record, now);
    if (!shouldAcquire(this.observation, now, this.identity)) return "held-by-other";
    const next = nextRecord(record, this.identity, now, this.leaseDurationSeconds);
    return this.write(next, () =>
      this.api.replaceNamespacedLease({
        name: this.name,
        namespace: this.namespace,
        // The read resourceVersion rides along: a concurrent writer makes this a 409.
        body: { ...lease, spec: leaseSpecFor(next) },
      }),
    );
  }

  private tryCreate(): Promise<Attempt> {
    const record = nextRecord(undefined, this.identity, this.clock.now(), this.leaseDurationSeconds);
    const body: V1Lease = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: this.name, namespace: this.namespace },
      spec: leaseSpecFor(record),
    };
    return this.write(record, () => this.api.createNamespacedLease({ namespace: this.namespace, body }));
  }

  /** Performs a create/replace; a 409 means another candidate won this round. */
  private async write(record: LeaseRecord, call: () => Promise<V1Lease>): Promise<Attempt> {
    try {
      const written = await call();
      const writtenRecord = written.spec ? readLeaseRecord(written, this.leaseDurationSeconds) : record;
      this.observation = { record: writtenRecord, observedAtMs: this.clock.now() };
      return "held";
    } catch (err) {
      if (statusOf(err) === 409) return "failed";
      return this.failed(err, "writing the lease failed");
    }
  }

  private failed(err: unknown, message: string): Attempt {
    this.logger.warn({ ...this.fields(), err, error: describeError(err), status: statusOf(err) }, message);
    return "failed";
  }

  private becomeLeader(): void {
    const leadership = new AbortController();
    this.leadership = leadership;
    this.logger.info(this.fields(), "became leader");
    try {
      const started = this.onStartedLeading(leadership.signal);
      if (started instanceof Promise) started.catch((err: unknown) => this.callbackFailed("onStartedLeading", err));
    } catch (err) {
      this.callbackFailed("onStartedLeading", err);
    }
  }

  private async stepDown(): Promise<void> {
    const leadership = this.leadership;
    if (!leadership) return;
    this.leadership = undefined;
    leadership.abort();
    this.logger.info(this.fields(), "stopped leading");
    try {
      await this.onStoppedLeading();
    } catch (err) {
      this.callbackFailed("onStoppedLeading", err);
    }
  }

  private callbackFailed(callback: string, err: unknown): void {
    this.logger.error(
      { ...this.fields(), callback, err, error: describeError(err) },
      "leader election callback failed",
    );
  }

  private async shutdown(release: boolean): Promise<void> {
    this.stopSignal.abort();
    // The loop may sit in an apiserver call that never answers; do not wait for it forever.
    const timer = new AbortController();
    await Promise.race([this.loop, sleep(this.clock, this.renewDeadlineMs, timer.signal)]);
    timer.abort();
    await this.stepDown();
    // Checked even when not leading: an acquire may have succeeded just as we stopped.
    if (release && this.observation?.record.holderIdentity === this.identity) await this.release();
  }

  private async release(): Promise<void> {
    try {
      const lease = await this.api.readNamespacedLease({ name: this.name, namespace: this.namespace });
      const record = readLeaseRecord(lease, this.leaseDurationSeconds);
      if (record.holderIdentity !== this.identity) return;
      const released = releasedRecord(record, this.clock.now());
      await this.api.replaceNamespacedLease({
        name: this.name,
        namespace: this.namespace,
        body: { ...lease, spec: leaseSpecFor(released) },
      });
      this.observation = { record: released, observedAtMs: this.clock.now() };
      this.logger.info(this.fields(), "released the lease");
    } catch (err) {
      // Not fatal: the others take over once the lease expires.
      this.logger.warn({ ...this.fields(), err, error: describeError(err) }, "releasing the lease failed");
    }
  }
}
