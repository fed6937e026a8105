import type { Redis } from "ioredis";
import type { ReplayGuard } from "../../ports/notify.js";

/** One replica only (REDIS_URL unset): ids are kept in this process, expiring after their TTL. */
export class MemoryReplayGuard implements ReplayGuard {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 100_000,
  ) {}

  firstSeen(id: string, ttlSeconds: number): Promise<boolean> {
    const now = this.now();
    this.evictExpired(now);
    const until = this.seen.get(id);
    if (until !== undefined && until > now) return Promise.resolve(false);
    this.seen.set(id, now + ttlSeconds * 1000);
    return Promise.resolve(true);
  }

  private evictExpired(now: number): void {
    for (const [id, until] of this.seen) {
      if (until > now && this.seen.size <= this.maxEntries) break;
      this.seen.delete(id);
    }
  }
}

/** Shared between replicas: `SET key 1 NX EX ttl` succeeds only for the first one to see the id. */
export class RedisReplayGuard implements ReplayGuard {
  constructor(
    private readonly redis: Pick<Redis, "set">,
    private readonly prefix = "aegis:replay:",
  ) {}

  async firstSeen(id: string, ttlSeconds: number): Promise<boolean> {
    try {
      const reply = await this.redis.set(`${this.prefix}${id}`, "1", "EX", ttlSeconds, "NX");
      return reply === "OK";
    } catch (error) {
      throw new Error(
        `replay check in Redis failed for ${id}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      );
    }
  }
}
