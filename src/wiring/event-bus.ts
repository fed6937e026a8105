import { RedisBus, redactRedisUrl } from "../adapters/bus/redis-bus.js";
import type { Logger } from "../ports/logger.js";
import type { ObservableEventBus } from "../ports/bus.js";
import { InProcessBus } from "../adapters/bus/in-process-bus.js";

/**
 * The bus `aegis serve` uses (DESIGN §4): Redis pub/sub between replicas when `redisUrl` is set,
 * else in-process delivery (one replica). Returns at once: Redis connects in the background, and
 * an unreachable Redis degrades to local delivery instead of delaying start-up.
 */
export function createEventBus(redisUrl: string | undefined, logger: Logger, replicaId: string): ObservableEventBus {
  if (!redisUrl) {
    logger.info({ replica: replicaId }, "event bus: in-process (REDIS_URL unset; one replica only)");
    return new InProcessBus(replicaId, logger);
  }
  logger.info({ replica: replicaId, redis: redactRedisUrl(redisUrl) }, "event bus: Redis pub/sub");
  return new RedisBus({ url: redisUrl, replicaId, logger });
}
