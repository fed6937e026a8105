/**
 * Time as the runtime sees it. Every timer in the runtime goes through this interface so unit
 * tests can drive backoff, delayed requeues, lease expiry and relists with a manual clock instead
 * of real sleeps (cert-manager `clock.Clock`, Trillian `util/clock`).
 */
export type CancelTimer = () => void;

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs `callback` once after `delayMs`; the returned function cancels it (idempotent). */
  setTimer(callback: () => void, delayMs: number): CancelTimer;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(callback, delayMs) {
    const handle = setTimeout(callback, Math.max(0, delayMs));
    return () => clearTimeout(handle);
  },
};

/**
 * Resolves after `delayMs` on `clock`, or as soon as `signal` aborts. It never rejects: loops
 * check the signal themselves after waking, which keeps "stop" a normal exit rather than an error.
 */
export function sleep(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      cancel();
      resolve();
    };
    const cancel = clock.setTimer(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, delayMs);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** A source of uniform random numbers in [0, 1); injected so jitter is testable. */
export type RandomSource = () => number;
