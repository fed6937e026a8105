import { isIP } from "node:net";
import type { ConnectionOptions } from "node:tls";
import { Redis, type RedisOptions } from "ioredis";
import { pemFile } from "../../tls/pem-file.js";
import {
  decodeBusMessage,
  DEFAULT_BUS_CHANNEL,
  deliverToHandlers,
  encodeBusMessage,
  type WireMessage,
} from "./wire.js";
import type { BusMessage, BusStats, ObservableEventBus } from "../../ports/bus.js";
import { silentLogger, type Logger } from "../../ports/logger.js";

export interface ReconnectBackoff {
  /** Delay before the first reconnect attempt. Default 100 ms. */
  readonly initialDelayMs?: number;
  /** Cap of the doubling delay. Default 5 s. */
  readonly maxDelayMs?: number;
}

export interface RedisBusOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS). */
  readonly url: string;
  /**
   * rediss:// only: PEM CA bundle the server's certificate must chain to (--redis-ca-file),
   * read again on every reconnect. Unset: the system CAs. See redisTlsOptions.
   */
  readonly caFile?: string | undefined;
  /** Stamped as `origin` on every message; unique per process (the Lease identity). */
  readonly replicaId: string;
  readonly channel?: string;
  readonly logger?: Logger;
  readonly backoff?: ReconnectBackoff;
  /** A publish that got no reply in this time counts as failed. Default 1 s. */
  readonly publishTimeoutMs?: number;
  /** Default 5 s; a down Redis then costs one failed attempt per backoff step, not a hang. */
  readonly connectTimeoutMs?: number;
  /**
   * The subscriber PINGs this often and reconnects when a PING (or a publish) gets no reply
   * within the timeout: a connection that died silently (a partition, a NAT that forgot it)
   * would otherwise lose every hint until TCP keep-alive notices, minutes later. Default 10 s.
   */
  readonly heartbeatMs?: number;
  readonly random?: () => number;
}

/**
 * Capped exponential backoff with up to 20 % jitter, for ioredis' `retryStrategy` (attempt
 * counts from 1). Never gives up: a replica without Redis still serves, and must pick the
 * cross-replica hints up again whenever Redis returns.
 */
export function reconnectDelayMs(
  attempt: number,
  backoff: ReconnectBackoff = {},
  random: () => number = Math.random,
): number {
  const initial = backoff.initialDelayMs ?? 100;
  const max = backoff.maxDelayMs ?? 5000;
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const base = Math.min(initial * 2 ** exponent, max);
  return Math.round(base * (1 + 0.2 * random()));
}

/** The URL without credentials, for logs. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname}`;
  } catch {
    return "(unparsable Redis URL)";
  }
}

/** A bad URL is a configuration error: fail at start-up, naming it without its credentials. */
function assertRedisUrl(url: string): void {
  try {
    const parsed = new URL(url);
    if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:")
      throw new Error(`unsupported protocol ${parsed.protocol}`);
  } catch (error) {
    const shown = url.replace(/\/\/[^@/]*@/, "//***@");
    throw new Error(`Redis URL ${shown} is not valid: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }
}

/**
 * ioredis options for the transport of `url`: none for redis://; for rediss://, TLS that checks
 * the server's certificate against `caFile` (read again on every connection, so a rotated CA
 * needs no restart; unset: the system CAs) and its name against the URL's host (SNI for a DNS
 * name; an IP address must be in the certificate's subjectAltName). A CA file with redis:// is
 * a configuration error: nothing would be encrypted. Throws naming the flag or the file.
 */
export function redisTlsOptions(url: string, caFile?: string): Pick<RedisOptions, "tls"> {
  assertRedisUrl(url);
  const parsed = new URL(url);
  if (parsed.protocol === "redis:") {
    if (caFile !== undefined)
      throw new Error(
        `--redis-ca-file (AEGIS_REDIS_CA_FILE) needs a rediss:// URL; ${redactRedisUrl(url)} is not encrypted`,
      );
    return {};
  }
  const host = parsed.hostname.replace(/^\[|\]$/g, "");
  const tls: ConnectionOptions = isIP(host) === 0 && host !== "" ? { servername: host } : {};
  if (caFile !== undefined) {
    const ca = pemFile(caFile, "certificate", "the Redis CA (--redis-ca-file, AEGIS_REDIS_CA_FILE)");
    Object.defineProperty(tls, "ca", { enumerable: true, configurable: true, get: () => ca.read() });
  }
  return { tls };
}

/** OpenSSL's verdicts on a certificate chain that does not lead to a trusted CA. */
const UNTRUSTED_CHAIN = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
]);

/** What to fix when connecting to Redis fails for a reason configuration can fix, else undefined. */
export function redisConnectionHint(error: unknown, url: string, caFile?: string): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  let host = "the Redis host";
  try {
    host = new URL(url).hostname;
  } catch {
    // keep the placeholder
  }
  if (typeof code === "string" && UNTRUSTED_CHAIN.has(code))
    return `the Redis server's certificate is not signed by ${caFile === undefined ? "a CA of the system store" : `the CA in ${caFile}`}: give the CA that issued it with --redis-ca-file (AEGIS_REDIS_CA_FILE)`;
  if (code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID")
    return "the Redis server's certificate is outside its validity period: renew it";
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID")
    return `the Redis server's certificate does not name ${host}: connect by a name it holds (its subjectAltName), or re-issue it for ${host}`;
  if (/^WRONGPASS/.test(error.message))
    return "Redis refused the user name and password of REDIS_URL: check them, and that the ACL user is on (docs/security.md)";
  if (/^NOAUTH/.test(error.message))
    return "Redis requires a login: give rediss://USER:PASSWORD@HOST:PORT in REDIS_URL";
  if (/^NOPERM/.test(error.message))
    return "the Redis ACL user lacks a permission AEGIS needs: see the ACL in docs/security.md";
  return undefined;
}

/**
 * `error` fit for a log line: ioredis attaches the failed command to its errors (`command.args`),
 * and for the handshake that is `HELLO 3 AUTH user password` or `AUTH password`; a command
 * queued behind a failed handshake is rejected with that same error.
 */
export function redactRedisError(error: unknown): unknown {
  if (!(error instanceof Error) || !("command" in error)) return error;
  const command = (error as { command?: { name?: unknown } }).command;
  const copy = new Error(error.message);
  copy.name = error.name;
  if (error.stack !== undefined) copy.stack = error.stack;
  const code = (error as { code?: unknown }).code;
  return Object.assign(copy, {
    ...(code === undefined ? {} : { code }),
    ...(typeof command?.name === "string" ? { command: command.name } : {}),
  });
}

function hintField(hint: string | undefined): { hint?: string } {
  return hint === undefined ? {} : { hint };
}

/** Whether `url` crosses the network unencrypted (redis:// to a host other than this one). */
export function redisUnencryptedRemote(url: string): boolean {
  try {
    const parsed = new URL(url);
    const host = parsed.hostname.replace(/^\[|\]$/g, "");
    const loopback = host === "localhost" || host === "::1" || (isIP(host) === 4 && host.startsWith("127."));
    return parsed.protocol === "redis:" && !loopback;
  } catch {
    return false;
  }
}

type ConnectionRole = "publisher" | "subscriber";

/** ioredis rejects a command that outlived `commandTimeout` with this message. */
function isTimeout(error: unknown): boolean {
  return error instanceof Error && /timed out/i.test(error.message);
}

/**
 * An EventBus over Redis pub/sub (DESIGN §4, STYLE P9: hints only, at most once).
 *
 * Two connections: one publishes, one stays in subscriber mode on `channel`. `publish` delivers
 * to this process's handlers first and then publishes to Redis; messages that come back with
 * this replica's own origin are dropped, so each handler sees each message once. When Redis is
 * unreachable, publishing degrades to local delivery (logged once per outage, counted), never
 * throws and never queues: stale hints are worthless, and an offline queue would grow without
 * bound during a long outage. Both connections reconnect forever with capped backoff; the
 * subscriber subscribes again on every `ready`, so delivery resumes by itself.
 */
export class RedisBus implements ObservableEventBus {
  readonly replicaId: string;
  private readonly channel: string;
  private readonly logger: Logger;
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly handlers = new Set<(message: BusMessage) => void>();
  private readonly state = new Map<ConnectionRole, "initial" | "up" | "down">([
    ["publisher", "initial"],
    ["subscriber", "initial"],
  ]);
  private readonly connectedWaiters = new Set<() => void>();
  private subscribed = false;
  private publishFailing = false;
  private closed = false;
  private lastMalformedLogAt = Number.NEGATIVE_INFINITY;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly counts = { published: 0, publishFailures: 0, received: 0, malformed: 0 };
  private readonly hint: (error: unknown) => string | undefined;

  constructor(options: RedisBusOptions) {
    assertRedisUrl(options.url);
    const transport = redisTlsOptions(options.url, options.caFile);
    this.hint = (error) => redisConnectionHint(error, options.url, options.caFile);
    this.replicaId = options.replicaId;
    this.channel = options.channel ?? DEFAULT_BUS_CHANNEL;
    this.logger = options.logger ?? silentLogger;
    const random = options.random ?? Math.random;
    const common = {
      retryStrategy: (attempt: number) => reconnectDelayMs(attempt, options.backoff, random),
      connectTimeout: options.connectTimeoutMs ?? 5000,
      commandTimeout: options.publishTimeoutMs ?? 1000,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
      ...transport,
    } satisfies RedisOptions;
    // CLIENT SETNAME refuses spaces; the name only helps `CLIENT LIST` readers find AEGIS.
    const clientName = this.replicaId.replace(/[^\w.:-]/g, "_");
    this.publisher = new Redis(options.url, { ...common, connectionName: `aegis-pub-${clientName}` });
    this.subscriber = new Redis(options.url, { ...common, connectionName: `aegis-sub-${clientName}` });
    this.watch(this.publisher, "publisher", redactRedisUrl(options.url));
    this.watch(this.subscriber, "subscriber", redactRedisUrl(options.url));
    this.subscriber.on("ready", () => void this.subscribeChannel());
    this.subscriber.on("close", () => (this.subscribed = false));
    this.subscriber.on("message", (channel: string, text: string) => {
      if (channel === this.channel) this.receive(text);
    });
    this.heartbeat = setInterval(() => void this.checkSubscriber(), options.heartbeatMs ?? 10_000);
    this.heartbeat.unref();
  }

  publish(message: BusMessage): Promise<void> {
    const stamped: WireMessage = { ...message, origin: this.replicaId };
    this.counts.published += 1;
    deliverToHandlers(this.handlers, stamped, this.logger);
    return this.publishRemote(stamped);
  }

  subscribe(handler: (message: BusMessage) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /**
   * Resolves once the subscriber listens on the channel and the publisher is ready (tests;
   * start-up need not wait). Both matter: a publish before the publisher is ready reaches this
   * replica's handlers only.
   */
  whenConnected(timeoutMs = 10_000): Promise<void> {
    if (this.isConnected()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.connectedWaiters.delete(done);
        reject(
          new Error(
            `Redis bus: not connected after ${timeoutMs} ms (subscribed to ${this.channel}: ${this.subscribed}, publisher: ${this.publisher.status})`,
          ),
        );
      }, timeoutMs);
      this.connectedWaiters.add(done);
    });
  }

  stats(): BusStats {
    return { kind: "redis", ...this.counts, connected: this.isConnected() };
  }

  private isConnected(): boolean {
    return this.subscribed && this.publisher.status === "ready";
  }

  private wakeConnectedWaiters(): void {
    if (!this.isConnected()) return;
    for (const waiter of this.connectedWaiters) waiter();
    this.connectedWaiters.clear();
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    clearInterval(this.heartbeat);
    this.handlers.clear();
    // disconnect(), not quit(): nothing is pending that is worth waiting for (hints only), and
    // quit() against an unreachable server would wait for a reply that never comes.
    this.publisher.disconnect();
    this.subscriber.disconnect();
    return Promise.resolve();
  }

  private async publishRemote(message: WireMessage): Promise<void> {
    if (this.closed) return;
    try {
      await this.publisher.publish(this.channel, encodeBusMessage(message));
      if (this.publishFailing) {
        this.publishFailing = false;
        this.logger.info({ channel: this.channel }, "Redis bus: publishing to other replicas again");
      }
    } catch (error) {
      this.counts.publishFailures += 1;
      if (isTimeout(error) && !this.closed) this.publisher.disconnect(true);
      if (!this.publishFailing) {
        this.publishFailing = true;
        this.logger.warn(
          { err: redactRedisError(error), channel: this.channel, topic: message.topic, key: message.key },
          "Redis bus: publish failed; hints reach this replica only until Redis is back",
        );
      }
    }
  }

  private async checkSubscriber(): Promise<void> {
    if (this.closed || !this.subscribed) return;
    try {
      await this.subscriber.ping();
    } catch (error) {
      if (this.closed || !isTimeout(error)) return;
      this.logger.warn(
        { err: redactRedisError(error), channel: this.channel },
        "Redis bus: the subscriber connection stopped answering; reconnecting",
      );
      this.subscribed = false;
      this.subscriber.disconnect(true);
    }
  }

  private async subscribeChannel(): Promise<void> {
    try {
      await this.subscriber.subscribe(this.channel);
      this.subscribed = true;
      this.wakeConnectedWaiters();
    } catch (error) {
      if (this.closed) return;
      // The connection dropped between ready and SUBSCRIBE; the next ready subscribes again.
      this.logger.warn(
        { err: redactRedisError(error), channel: this.channel, ...hintField(this.hint(error)) },
        "Redis bus: subscribing failed; retrying on reconnect",
      );
      this.subscriber.disconnect(true);
    }
  }

  private receive(text: string): void {
    const decoded = decodeBusMessage(text);
    if (!decoded.ok) {
      this.counts.malformed += 1;
      this.logMalformed(decoded.reason);
      return;
    }
    // Already delivered locally by publish().
    if (decoded.message.origin === this.replicaId) return;
    this.counts.received += 1;
    deliverToHandlers(this.handlers, decoded.message, this.logger);
  }

  /** At most one line a minute: a misbehaving publisher must not flood the log. */
  private logMalformed(reason: string): void {
    const now = Date.now();
    if (now - this.lastMalformedLogAt < 60_000) return;
    this.lastMalformedLogAt = now;
    this.logger.warn(
      { channel: this.channel, reason, malformedTotal: this.counts.malformed },
      "Redis bus: ignored a malformed message",
    );
  }

  /**
   * ioredis emits `error` on every failed reconnect attempt (and prints them all when nobody
   * listens). Log once when a connection is lost or cannot be made, and once when it is back,
   * so an outage costs two lines, not a flood.
   */
  private watch(connection: Redis, role: ConnectionRole, where: string): void {
    const lost = (error: unknown): void => {
      if (this.closed || this.state.get(role) === "down") return;
      const initial = this.state.get(role) === "initial";
      this.state.set(role, "down");
      const message = initial
        ? "Redis bus: cannot connect; hints stay within this replica, retrying with backoff"
        : "Redis bus: connection lost; hints stay within this replica, reconnecting with backoff";
      const hint = this.hint(error);
      this.logger.warn(
        { ...(error === undefined ? {} : { err: redactRedisError(error) }), ...hintField(hint), redis: where, role },
        hint ? `${message}: ${hint}` : message,
      );
    };
    connection.on("error", (error: unknown) => lost(error));
    connection.on("close", () => {
      if (this.state.get(role) === "up") lost(undefined);
    });
    connection.on("ready", () => {
      if (this.state.get(role) === "down") this.logger.info({ redis: where, role }, "Redis bus: connected again");
      this.state.set(role, "up");
      this.wakeConnectedWaiters();
    });
  }
}
