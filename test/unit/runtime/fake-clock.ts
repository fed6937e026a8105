// A manual clock for runtime unit tests: time moves only when the test advances it.
import type { CancelTimer, Clock } from "../../../src/runtime/clock.js";

interface PendingTimer {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  private timers: PendingTimer[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimer(callback: () => void, delayMs: number): CancelTimer {
    const timer: PendingTimer = {
      at: this.current + Math.max(0, delayMs),
      seq: this.seq++,
      callback,
      cancelled: false,
    };
    this.timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  /** Timers not yet fired or cancelled. */
  get pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /**
   * Moves time forward by `ms`, firing due timers in order, and lets promise chains run after
   * each one so async loops driven by the clock make progress as they would in real time.
   */
  async advance(ms: number): Promise<void> {
    const target = this.current + ms;
    await flushPromises();
    for (let next = this.nextDue(target); next; next = this.nextDue(target)) {
      this.current = next.at;
      next.cancelled = true;
      next.callback();
      await flushPromises();
    }
    this.current = target;
    await flushPromises();
  }

  private nextDue(limit: number): PendingTimer | undefined {
    this.timers = this.timers.filter((t) => !t.cancelled);
    let best: PendingTimer | undefined;
    for (const t of this.timers) {
      if (t.at > limit) continue;
      if (!best || t.at < best.at || (t.at === best.at && t.seq < best.seq)) best = t;
    }
    return best;
  }
}

/** Runs every queued promise continuation (several rounds, for chains of awaits). */
export async function flushPromises(): Promise<void> {
  for (let i = 0; i < 5; i += 1) {
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
