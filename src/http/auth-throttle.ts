/**
 * Slows down token guessing: after `limit` failed authentications from one client within
 * `windowMs`, further attempts from it are refused until the window passes.
 */
export class FailedAuthThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly limit = 10,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  isBlocked(client: string): boolean {
    return this.recent(client).length >= this.limit;
  }

  recordFailure(client: string): void {
    const recent = this.recent(client);
    recent.push(this.now());
    this.failures.set(client, recent);
    if (this.failures.size > 10_000) this.evictOldest();
  }

  /** Seconds until the client may try again. */
  retryAfterSeconds(client: string): number {
    const oldest = this.recent(client)[0] ?? this.now();
    return Math.max(1, Math.ceil((oldest + this.windowMs - this.now()) / 1000));
  }

  private recent(client: string): number[] {
    const cutoff = this.now() - this.windowMs;
    return (this.failures.get(client) ?? []).filter((at) => at > cutoff);
  }

  private evictOldest(): void {
    const first = this.failures.keys().next();
    if (!first.done) this.failures.delete(first.value);
  }
}
