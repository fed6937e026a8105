import { createHash } from "node:crypto";

/**
 * Slows down token guessing: after `limit` failed authentications from one client address
 * within `windowMs`, further unknown tokens from it are refused until the window passes. Tokens
 * that authenticated within `knownGoodMs` still pass, so users behind one proxy or NAT are not
 * locked out by one misconfigured neighbour. Tokens are held as SHA-256 digests only.
 */
export class FailedAuthThrottle {
  private readonly failures = new Map<string, number[]>();
  private readonly goodTokens = new Map<string, number>();

  constructor(
    private readonly limit = 10,
    private readonly windowMs = 60_000,
    private readonly now: () => number = Date.now,
    private readonly knownGoodMs = 15 * 60_000,
  ) {}

  isBlocked(client: string): boolean {
    return this.recent(client).length >= this.limit;
  }

  recordFailure(client: string): void {
    const recent = this.recent(client);
    recent.push(this.now());
    this.failures.set(client, recent);
    if (this.failures.size > 10_000) evictOldest(this.failures);
  }

  recordSuccess(token: string): void {
    const key = digest(token);
    this.goodTokens.delete(key);
    this.goodTokens.set(key, this.now());
    if (this.goodTokens.size > 10_000) evictOldest(this.goodTokens);
  }

  isKnownGood(token: string): boolean {
    const at = this.goodTokens.get(digest(token));
    return at !== undefined && this.now() - at < this.knownGoodMs;
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
}

function digest(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

function evictOldest(map: Map<string, unknown>): void {
  const first = map.keys().next();
  if (!first.done) map.delete(first.value);
}
