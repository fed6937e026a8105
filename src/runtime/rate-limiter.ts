import type { Clock, RandomSource } from "./clock.js";

/**
 * Decides how long a failed key waits before it is retried (client-go `TypedRateLimiter`).
 * `when` is called once per retry and records the failure; `forget` clears the history of a key
 * after it succeeded; `numRequeues` is how many times `when` was called since the last `forget`.
 */
export interface RateLimiter {
  when(key: string): number;
  forget(key: string): void;
  numRequeues(key: string): number;
}

export interface ExponentialBackoffOptions {
  /** Delay of the first retry. Default 5 ms (controller-runtime). */
  readonly baseDelayMs?: number;
  /** Upper bound of any delay. Default 1000 s (controller-runtime). */
  readonly maxDelayMs?: number;
  /**
   * Share of the delay that is randomised away: the delay is drawn from
   * `[d·(1-jitter), d]`, so the cap stays a hard cap and many keys failing together spread out.
   * Default 0.1; 0 disables jitter.
   */
  readonly jitter?: number;
  readonly random?: RandomSource;
}

/**
 * `min(base · 2^failures, max)` minus jitter. Pure: the caller passes the failure count.
 * `randomValue` is a uniform number in [0, 1).
 */
export function backoffDelay(
  failures: number,
  options: Required<Omit<ExponentialBackoffOptions, "random">>,
  randomValue: number,
): number {
  const { baseDelayMs, maxDelayMs, jitter } = options;
  // 2^1024 is Infinity; stop doubling long before to keep the arithmetic finite.
  const exponent = Math.min(Math.max(failures, 0), 62);
  const capped = Math.min(baseDelayMs * 2 ** exponent, maxDelayMs);
  return capped * (1 - jitter * randomValue);
}

/** Per-key exponential backoff (client-go `ItemExponentialFailureRateLimiter`, plus jitter). */
export class ExponentialBackoffRateLimiter implements RateLimiter {
  private readonly failures = new Map<string, number>();
  private readonly settings: Required<Omit<ExponentialBackoffOptions, "random">>;
  private readonly random: RandomSource;

  constructor(options: ExponentialBackoffOptions = {}) {
    this.settings = {
      baseDelayMs: options.baseDelayMs ?? 5,
      maxDelayMs: options.maxDelayMs ?? 1_000_000,
      jitter: options.jitter ?? 0.1,
    };
    if (this.settings.jitter < 0 || this.settings.jitter > 1) {
      throw new RangeError(`jitter must be within [0, 1], got ${this.settings.jitter}`);
    }
    this.random = options.random ?? Math.random;
  }

  when(key: string): number {
    const failures = this.failures.get(key) ?? 0;
    this.failures.set(key, failures + 1);
    return backoffDelay(failures, this.settings, this.random());
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }
}

export interface TokenBucketOptions {
  /** Sustained rate. Default 10 per second (client-go). */
  readonly qps?: number;
  /** Bucket size: how many retries may go at once after a quiet period. Default 100. */
  readonly burst?: number;
  readonly clock: Clock;
}

/**
 * An overall limit on retries across all keys, so a mass failure (apiserver down) cannot
 * turn into a retry storm. Each `when` reserves a token, going into debt when the bucket is
 * empty, and returns the wait until that token exists (golang.org/x/time/rate `Reserve`).
 * It keeps no per-key state, so `forget` and `numRequeues` are no-ops.
 */
export class TokenBucketRateLimiter implements RateLimiter {
  private readonly qps: number;
  private readonly burst: number;
  private readonly clock: Clock;
  private tokens: number;
  private updatedAt: number;

  constructor(options: TokenBucketOptions) {
    this.qps = options.qps ?? 10;
    this.burst = options.burst ?? 100;
    if (this.qps <= 0 || this.burst < 1) throw new RangeError("qps must be > 0 and burst >= 1");
    this.clock = options.clock;
    this.tokens = this.burst;
    this.updatedAt = this.clock.now();
  }

  when(_key: string): number {
    this.refill();
    this.tokens -= 1;
    return this.tokens >= 0 ? 0 : (-this.tokens / this.qps) * 1000;
  }

  forget(_key: string): void {}

  numRequeues(_key: string): number {
    return 0;
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsedSeconds = Math.max(0, now - this.updatedAt) / 1000;
    this.tokens = Math.min(this.burst, this.tokens + elapsedSeconds * this.qps);
    this.updatedAt = now;
  }
}

/** The longest delay of several limiters (client-go `MaxOfRateLimiter`). */
export class MaxOfRateLimiter implements RateLimiter {
  private readonly limiters: readonly RateLimiter[];

  constructor(...limiters: RateLimiter[]) {
    this.limiters = limiters;
  }

  when(key: string): number {
    // Every limiter must record the attempt, so no short-circuit here.
    return this.limiters.reduce((longest, limiter) => Math.max(longest, limiter.when(key)), 0);
  }

  forget(key: string): void {
    for (const limiter of this.limiters) limiter.forget(key);
  }

  numRequeues(key: string): number {
    return this.limiters.reduce((most, limiter) => Math.max(most, limiter.numRequeues(key)), 0);
  }
}

/**
 * client-go's `DefaultTypedControllerRateLimiter`: per-key 5 ms → 1000 s exponential backoff
 * (with jitter) and an overall 10 qps / burst 100 token bucket.
 */
export function defaultControllerRateLimiter(clock: Clock, random: RandomSource = Math.random): RateLimiter {
  return new MaxOfRateLimiter(new ExponentialBackoffRateLimiter({ random }), new TokenBucketRateLimiter({ clock }));
}
