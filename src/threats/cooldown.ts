/** Timestamps within a trailing window, per key. */
export class SlidingWindow {
  private readonly stamps = new Map<string, number[]>();

  constructor(private readonly windowMs: number) {}

  private adds = 0;

  /** Adds one event and returns how many the key has in the window ending at `atMs`. */
  add(key: string, atMs: number): number {
    const kept = (this.stamps.get(key) ?? []).filter((stamp) => atMs - stamp < this.windowMs);
    kept.push(atMs);
    this.stamps.set(key, kept);
    if (++this.adds % 1_000 === 0) this.forgetIdle(atMs);
    return kept.length;
  }

  /** Keys whose last event left the window: users who stopped cost no memory. */
  private forgetIdle(atMs: number): void {
    for (const [key, stamps] of this.stamps) {
      if (atMs - (stamps.at(-1) ?? 0) >= this.windowMs) this.stamps.delete(key);
    }
  }

  /** The start of the current window (for ids): the oldest event still in it. */
  firstOf(key: string): number | undefined {
    return this.stamps.get(key)?.[0];
  }
}
