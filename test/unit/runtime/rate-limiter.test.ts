import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  backoffDelay,
  defaultControllerRateLimiter,
  ExponentialBackoffRateLimiter,
  MaxOfRateLimiter,
  TokenBucketRateLimiter,
} from "../../../src/runtime/rate-limiter.js";
import { FakeClock } from "./fake-clock.js";

describe("backoffDelay", () => {
  const settings = { baseDelayMs: 5, maxDelayMs: 1_000_000, jitter: 0.1 };

  it("doubles from the base delay and stops at the cap", () => {
    const noJitter = { ...settings, jitter: 0 };
    expect([0, 1, 2, 3].map((n) => backoffDelay(n, noJitter, 0.5))).toEqual([5, 10, 20, 40]);
    expect(backoffDelay(17, noJitter, 0)).toBe(655_360);
    expect(backoffDelay(18, noJitter, 0)).toBe(1_000_000);
    expect(backoffDelay(10_000, noJitter, 0)).toBe(1_000_000);
  });

  it("stays within [d·(1-jitter), d] and never exceeds the cap, for any failure count", () => {
    fc.assert(
      fc.property(fc.nat({ max: 100_000 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (n, r) => {
        const delay = backoffDelay(n, settings, r);
        const unjittered = Math.min(5 * 2 ** Math.min(n, 62), settings.maxDelayMs);
        expect(Number.isFinite(delay)).toBe(true);
        expect(delay).toBeLessThanOrEqual(unjittered);
        expect(delay).toBeGreaterThanOrEqual(unjittered * (1 - settings.jitter));
        expect(delay).toBeLessThanOrEqual(settings.maxDelayMs);
      }),
    );
  });

  it("never shrinks as failures grow, for the same random draw", () => {
    fc.assert(
      fc.property(fc.nat({ max: 200 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (n, r) => {
        expect(backoffDelay(n + 1, settings, r)).toBeGreaterThanOrEqual(backoffDelay(n, settings, r));
      }),
    );
  });
});

describe("ExponentialBackoffRateLimiter", () => {
  it("counts failures per key and forgets them", () => {
    const limiter = new ExponentialBackoffRateLimiter({ jitter: 0 });
    expect(limiter.when("a")).toBe(5);
    expect(limiter.when("a")).toBe(10);
    expect(limiter.when("b")).toBe(5);
    expect(limiter.numRequeues("a")).toBe(2);
    limiter.forget("a");
    expect(limiter.numRequeues("a")).toBe(0);
    expect(limiter.when("a")).toBe(5);
  });

  it("applies the injected random draw as jitter", () => {
    const limiter = new ExponentialBackoffRateLimiter({ baseDelayMs: 100, jitter: 0.5, random: () => 0.5 });
    expect(limiter.when("a")).toBe(75);
  });

  it("rejects a jitter outside [0, 1]", () => {
    expect(() => new ExponentialBackoffRateLimiter({ jitter: 1.5 })).toThrow(RangeError);
  });
});

describe("TokenBucketRateLimiter", () => {
  it("lets a burst through, then spaces retries at the sustained rate", async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucketRateLimiter({ qps: 10, burst: 3, clock });
    expect([bucket.when("a"), bucket.when("b"), bucket.when("c")]).toEqual([0, 0, 0]);
    expect(bucket.when("d")).toBeCloseTo(100);
    expect(bucket.when("e")).toBeCloseTo(200);
    await clock.advance(1000);
    expect(bucket.when("f")).toBe(0);
  });
});

describe("defaultControllerRateLimiter", () => {
  it("takes the longer of per-key backoff and the overall bucket", () => {
    const clock = new FakeClock();
    const limiter = new MaxOfRateLimiter(
      new ExponentialBackoffRateLimiter({ jitter: 0 }),
      new TokenBucketRateLimiter({ qps: 1, burst: 1, clock }),
    );
    expect(limiter.when("a")).toBe(5);
    expect(limiter.when("b")).toBeCloseTo(1000);
    expect(limiter.numRequeues("a")).toBe(1);
    limiter.forget("a");
    expect(limiter.numRequeues("a")).toBe(0);
  });

  it("starts at about 5 ms per key", () => {
    const limiter = defaultControllerRateLimiter(new FakeClock(), () => 0);
    expect(limiter.when("a")).toBe(5);
    expect(limiter.when("a")).toBe(10);
  });
});
