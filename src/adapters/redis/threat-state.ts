// The threat detector's state in Redis, shared by every replica. Each call is one Lua script (or
// one MULTI), so what replicas do at the same moment is serialised by Redis:
//
//   <prefix>w:<key>           sorted set: a sliding window, members one per observation, scored
//                             by time (ZREMRANGEBYSCORE, ZADD, ZCARD), PEXPIRE = the window
//   <prefix>m:<key>:<minute>  counter: requests in a minute (INCR), kept 3 minutes
//   <prefix>s:<key>           set: first-seen members (SADD), <prefix>s:<key>:since its start;
//                             both kept 30 days after the last use
//   <prefix>c:<slot>          a threat's cooldown slot `at:rank:period`, PX = the cooldown
//   <prefix>observed, counts, recent, sources   what /api/security/status shows
//   <prefix>lockdown          the automatic lockdown (JSON), SET NX PX: TTL = the lockdown period
//   <prefix>lockdown:last     the latest lockdown (30 days), so its end is recorded once
//   <prefix>lockdown:ended:<id>  SET NX by the replica that records that end
//
// Keys are named in KEYS (not built inside scripts); the scripts' keys are not in one hash slot,
// so this needs a standalone Redis (or one primary), as the event bus does.
import { createHash } from "node:crypto";
import { Redis, type RedisOptions } from "ioredis";
import type {
  CountOp,
  CountResult,
  LockdownState,
  SharedLockdown,
  ThreatClaim,
  ThreatSnapshot,
  ThreatStateStore,
} from "../../ports/threat-state.js";
import { reconnectDelayMs, redactRedisUrl } from "../bus/redis-bus.js";

export interface RedisThreatStateOptions {
  readonly url: string;
  /** Default `aegis:threats:`; tests use one of their own. */
  readonly prefix?: string;
  /** A call that got no reply in this time fails (the detector then uses this replica's windows). Default 500 ms. */
  readonly commandTimeoutMs?: number;
  readonly connectTimeoutMs?: number;
  readonly backoff?: { readonly initialDelayMs?: number; readonly maxDelayMs?: number };
  /** CLIENT SETNAME suffix. */
  readonly replicaId?: string;
  /** Transport options (rediss:// TLS with a CA of its own), as the event bus's connections get them. */
  readonly transport?: Pick<RedisOptions, "tls">;
}

const DAY_MS = 86_400_000;
const SUMMARY_TTL_MS = 7 * DAY_MS;
const LAST_TTL_MS = 30 * DAY_MS;

const COUNT = `
local n = tonumber(ARGV[1])
if n > 0 then redis.call('INCRBY', KEYS[1], n); redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
local ops = cjson.decode(ARGV[2])
local k = 2
local out = {}
for i, op in ipairs(ops) do
  if op.o == 'w' then
    local key = KEYS[k]; k = k + 1
    redis.call('ZREMRANGEBYSCORE', key, '-inf', op.at - op.win)
    redis.call('ZADD', key, op.at, op.m)
    local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    out[i] = {redis.call('ZCARD', key), tonumber(first[2])}
    redis.call('PEXPIRE', key, op.win)
  elseif op.o == 'm' then
    local key = KEYS[k]; local previous = KEYS[k + 1]; k = k + 2
    local count = redis.call('INCR', key)
    redis.call('PEXPIRE', key, 180000)
    out[i] = {count, tonumber(redis.call('GET', previous) or '0')}
  else
    local set = KEYS[k]; local since = KEYS[k + 1]; k = k + 2
    redis.call('SET', since, op.at, 'NX')
    local novel = redis.call('SADD', set, op.m)
    out[i] = {novel, tonumber(redis.call('GET', since))}
    redis.call('PEXPIRE', set, ARGV[4]); redis.call('PEXPIRE', since, ARGV[4])
  end
end
return cjson.encode(out)
`;

const CLAIM = `
local limit = tonumber(ARGV[1])
local keep = ARGV[3]
local claims = cjson.decode(ARGV[2])
local names = {'low', 'medium', 'high', 'critical'}
local out = {}
for i, c in ipairs(claims) do
  local slot = KEYS[3 + i]
  local free = true
  local previous = redis.call('GET', slot)
  if previous then
    local at, rank, period = string.match(previous, '^(%-?[%d.e+]+):(%d+):(%d+)$')
    if at then free = (c.at - tonumber(at) >= tonumber(period)) or (c.rank > tonumber(rank)) end
  end
  if free then
    if c.period > 0 then redis.call('SET', slot, c.at .. ':' .. c.rank .. ':' .. c.period, 'PX', c.period) end
    redis.call('HINCRBY', KEYS[1], names[c.rank + 1] or 'low', 1)
    redis.call('LPUSH', KEYS[2], c.threat)
    redis.call('LTRIM', KEYS[2], 0, limit - 1)
    local score = tonumber(redis.call('ZSCORE', KEYS[3], c.source) or '0')
    local highest = score % 4
    if c.rank > highest then highest = c.rank end
    redis.call('ZADD', KEYS[3], (math.floor(score / 4) + 1) * 4 + highest, c.source)
    redis.call('ZREMRANGEBYRANK', KEYS[3], 0, -1001)
    for j = 1, 3 do redis.call('PEXPIRE', KEYS[j], keep) end
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
`;

// SET NX: exactly one caller starts a lockdown; the others extend it when they ask for a later end.
const LOCK_DOWN = `
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then
  redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[3])
  return {1, ARGV[1]}
end
local running = cjson.decode(redis.call('GET', KEYS[1]))
local wanted = cjson.decode(ARGV[1])
if wanted.untilMs > running.untilMs then
  running.untilMs = wanted.untilMs
  running.reason = wanted.reason
  local text = cjson.encode(running)
  redis.call('SET', KEYS[1], text, 'PX', ARGV[2])
  redis.call('SET', KEYS[2], text, 'PX', ARGV[3])
  return {0, text}
end
return {0, redis.call('GET', KEYS[1])}
`;

// One claim per lockdown id, once it no longer runs.
const CLAIM_END = `
local current = redis.call('GET', KEYS[1])
if current and cjson.decode(current).id == ARGV[1] then return 0 end
if not redis.call('SET', KEYS[3], '1', 'PX', ARGV[2], 'NX') then return 0 end
local last = redis.call('GET', KEYS[2])
if last then
  local decoded = cjson.decode(last)
  if decoded.id == ARGV[1] then
    decoded.ended = true
    redis.call('SET', KEYS[2], cjson.encode(decoded), 'KEEPTTL')
  end
end
return 1
`;

function sha1(text: string): string {
  return createHash("sha1").update(text).digest("hex");
}

function parseLockdown(text: unknown): (SharedLockdown & { ended?: boolean }) | null {
  if (typeof text !== "string") return null;
  try {
    const value = JSON.parse(text) as Partial<SharedLockdown> & { ended?: boolean };
    if (
      typeof value.id !== "string" ||
      typeof value.sinceMs !== "number" ||
      typeof value.untilMs !== "number" ||
      typeof value.reason !== "string"
    )
      return null;
    return {
      id: value.id,
      sinceMs: value.sinceMs,
      untilMs: value.untilMs,
      reason: value.reason,
      origin: typeof value.origin === "string" ? value.origin : "",
      ...(value.ended === true ? { ended: true } : {}),
    };
  } catch {
    return null;
  }
}

function encodeLockdown(lockdown: SharedLockdown): string {
  return JSON.stringify({
    id: lockdown.id,
    sinceMs: lockdown.sinceMs,
    untilMs: lockdown.untilMs,
    reason: lockdown.reason,
    origin: lockdown.origin,
  });
}

export class RedisThreatStateStore implements ThreatStateStore {
  readonly shared = true;
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly where: string;

  constructor(options: RedisThreatStateOptions) {
    this.prefix = options.prefix ?? "aegis:threats:";
    this.where = redactRedisUrl(options.url);
    const clientName = (options.replicaId ?? "aegis").replace(/[^\w.:-]/g, "_");
    this.redis = new Redis(options.url, {
      connectionName: `aegis-threats-${clientName}`,
      retryStrategy: (attempt: number) => reconnectDelayMs(attempt, options.backoff),
      connectTimeout: options.connectTimeoutMs ?? 2000,
      commandTimeout: options.commandTimeoutMs ?? 500,
      // Fail at once while disconnected: the detector falls back to this replica's windows
      // instead of queueing behind a reconnect.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      ...options.transport,
    });
    // Every failed reconnect emits an error; the detector logs the outage once (onStoreHealth).
    this.redis.on("error", () => undefined);
  }

  /** `redis://host:port` without credentials, for logs. */
  get location(): string {
    return this.where;
  }

  /** Resolves once connected (tests; start-up does not wait). */
  async whenReady(timeoutMs = 10_000): Promise<void> {
    if (this.redis.status === "ready") return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.redis.off("ready", ready);
        reject(new Error(`threat state: Redis ${this.where} not ready after ${timeoutMs} ms`));
      }, timeoutMs);
      const ready = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.redis.once("ready", ready);
    });
  }

  async count(ops: readonly CountOp[], observed: number): Promise<CountResult[]> {
    const keys = [this.key("observed")];
    const encoded = ops.map((op) => {
      switch (op.op) {
        case "window":
          keys.push(this.key(`w:${op.key}`));
          return { o: "w", at: op.atMs, win: op.windowMs, m: op.member };
        case "minute":
          keys.push(this.key(`m:${op.key}:${op.minute}`), this.key(`m:${op.key}:${op.minute - 1}`));
          return { o: "m" };
        case "first-seen":
          keys.push(this.key(`s:${op.key}`), this.key(`s:${op.key}:since`));
          return { o: "s", at: op.atMs, m: op.member };
      }
    });
    const reply = await this.run(COUNT, keys, [observed, JSON.stringify(encoded), SUMMARY_TTL_MS, LAST_TTL_MS]);
    // cjson encodes an empty table as {}.
    const answers = (typeof reply === "string" && reply !== "{}" ? JSON.parse(reply) : []) as [number, number][];
    return ops.map((op, index): CountResult => {
      const [first = 0, second = 0] = answers[index] ?? [];
      switch (op.op) {
        case "window":
          return { op: "window", count: first, firstMs: second };
        case "minute":
          return { op: "minute", count: first, previous: second };
        case "first-seen":
          return { op: "first-seen", novel: first === 1, sinceMs: second };
      }
    });
  }

  async claim(claims: readonly ThreatClaim[]): Promise<boolean[]> {
    if (claims.length === 0) return [];
    const keys = [
      this.key("counts"),
      this.key("recent"),
      this.key("sources"),
      ...claims.map((c) => this.key(`c:${c.key}`)),
    ];
    const encoded = claims.map((c) => ({
      rank: c.rank,
      at: c.atMs,
      period: c.periodMs,
      source: c.source,
      threat: JSON.stringify(c.threat),
    }));
    const reply = (await this.run(CLAIM, keys, [50, JSON.stringify(encoded), SUMMARY_TTL_MS])) as number[];
    return claims.map((_, index) => reply[index] === 1);
  }

  async lockDown(
    lockdown: SharedLockdown,
    ttlMs: number,
    _nowMs: number,
  ): Promise<{ started: boolean; lockdown: SharedLockdown }> {
    const reply = (await this.run(
      LOCK_DOWN,
      [this.key("lockdown"), this.key("lockdown:last")],
      [encodeLockdown(lockdown), Math.max(1, Math.round(ttlMs)), LAST_TTL_MS],
    )) as [number, string];
    const stored = parseLockdown(reply[1]);
    if (!stored) throw new Error("threat state: the stored lockdown does not parse");
    const { ended: _ended, ...running } = stored;
    return { started: reply[0] === 1, lockdown: running };
  }

  async lockdown(_nowMs: number): Promise<LockdownState> {
    const [current, last] = await this.redis.mget(this.key("lockdown"), this.key("lockdown:last"));
    const running = parseLockdown(current);
    const latest = parseLockdown(last);
    const strip = (value: typeof running): SharedLockdown | null => {
      if (!value) return null;
      const { ended: _ended, ...lockdown } = value;
      return lockdown;
    };
    return { current: strip(running), last: strip(latest), lastEndClaimed: latest?.ended === true };
  }

  async claimLockdownEnd(id: string, _nowMs: number): Promise<boolean> {
    const reply = await this.run(
      CLAIM_END,
      [this.key("lockdown"), this.key("lockdown:last"), this.key(`lockdown:ended:${id}`)],
      [id, LAST_TTL_MS],
    );
    return reply === 1;
  }

  async clearLockdown(): Promise<void> {
    await this.redis.del(this.key("lockdown"));
  }

  async snapshot(recentLimit: number): Promise<ThreatSnapshot> {
    const replies = await this.redis
      .multi()
      .get(this.key("observed"))
      .hgetall(this.key("counts"))
      .lrange(this.key("recent"), 0, Math.max(0, recentLimit - 1))
      .zrevrange(this.key("sources"), 0, 9, "WITHSCORES")
      .exec();
    if (!replies) throw new Error("threat state: the snapshot transaction was aborted");
    const failed = replies.find(([error]) => error);
    if (failed?.[0]) throw failed[0];
    const [observed, counts, recent, sources] = replies.map(([, value]) => value) as [
      string | null,
      Record<string, string>,
      string[],
      string[],
    ];
    const topSources: { source: string; threats: number; highestRank: number }[] = [];
    for (let index = 0; index + 1 < sources.length; index += 2) {
      const score = Number(sources[index + 1]);
      topSources.push({ source: sources[index] ?? "", threats: Math.floor(score / 4), highestRank: score % 4 });
    }
    return {
      observed: Number(observed ?? 0),
      counts: Object.fromEntries(Object.entries(counts).map(([name, value]) => [name, Number(value)])),
      recent: recent.flatMap((text) => {
        try {
          return [JSON.parse(text) as Record<string, unknown>];
        } catch {
          return [];
        }
      }),
      topSources,
    };
  }

  close(): Promise<void> {
    // disconnect(), not quit(): nothing pending is worth waiting for against an unreachable server.
    this.redis.disconnect();
    return Promise.resolve();
  }

  private key(name: string): string {
    return `${this.prefix}${name}`;
  }

  private readonly shas = new Map<string, string>();

  /** EVALSHA, loading the script (EVAL) when Redis does not know it yet (NOSCRIPT). */
  private async run(script: string, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    const sha = this.shas.get(script) ?? sha1(script);
    this.shas.set(script, sha);
    try {
      return await this.redis.evalsha(sha, keys.length, ...keys, ...args);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith("NOSCRIPT")) throw error;
      return this.redis.eval(script, keys.length, ...keys, ...args);
    }
  }
}
