import { RedisBus, redactRedisUrl, redisUnencryptedRemote } from "../adapters/bus/redis-bus.js";
import type { Logger } from "../ports/logger.js";
import type { ObservableEventBus } from "../ports/bus.js";
import { InProcessBus } from "../adapters/bus/in-process-bus.js";

/**
 * The bus `aegis serve` uses (DESIGN §4): Redis pub/sub between replicas when `redisUrl` is set,
 * else in-process delivery (one replica). Returns at once: Redis connects in the background, and
 * an unreachable Redis degrades to local delivery instead of delaying start-up.
 */
export function createEventBus(
  redisUrl: string | undefined,
  logger: Logger,
  replicaId: string,
  /** --redis-ca-file: the CA a rediss:// server's certificate must chain to. */
  transport: { caFile?: string | undefined } = {},
): ObservableEventBus {
  if (!redisUrl) {
    logger.info({ replica: replicaId }, "event bus: in-process (REDIS_URL unset; one replica only)");
    return new InProcessBus(replicaId, logger);
  }
  const redis = redactRedisUrl(redisUrl);
  const bus = new RedisBus({ url: redisUrl, replicaId, logger, caFile: transport.caFile });
  logger.info({ replica: replicaId, redis, tls: redisUrl.startsWith("rediss:") }, "event bus: Redis pub/sub");
  if (redisUnencryptedRemote(redisUrl))
    logger.warn(
      { redis },
      "event bus: Redis is reached unencrypted: its password and the hints cross the network in the clear; use rediss:// with --redis-ca-file (docs/security.md)",
    );
  return bus;
}
