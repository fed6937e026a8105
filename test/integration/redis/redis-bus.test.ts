// The Redis event bus against real Redis servers: the shared one (REDIS_URL, `npm run
// services:up`) for delivery, and a private one this file stops and starts for outages.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RedisBus } from "../../../src/adapters/bus/redis-bus.js";
import type { BusMessage } from "../../../src/ports/bus.js";
import type { LogFields, Logger } from "../../../src/ports/logger.js";
import { createPrivateRedis, type PrivateRedis } from "./private-redis.js";

const sharedUrl = process.env["REDIS_URL"] || "redis://127.0.0.1:6379";
const fastBackoff = { initialDelayMs: 50, maxDelayMs: 400 };

interface Line {
  level: "info" | "warn" | "error";
  fields: LogFields;
  message: string;
}

function recordingLogger(): Logger & { lines: Line[] } {
  const lines: Line[] = [];
  return {
    lines,
    info: (fields, message) => lines.push({ level: "info", fields, message }),
    warn: (fields, message) => lines.push({ level: "warn", fields, message }),
    error: (fields, message) => lines.push({ level: "error", fields, message }),
  };
}

const buses: RedisBus[] = [];
function bus(url: string, channel: string, replicaId: string, logger: Logger = recordingLogger()): RedisBus {
  const created = new RedisBus({ url, channel, replicaId, logger, backoff: fastBackoff });
  buses.push(created);
  return created;
}

function inbox(target: RedisBus): BusMessage[] {
  const received: BusMessage[] = [];
  target.subscribe((message) => received.push(message));
  return received;
}

async function until<T>(check: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const channelFor = (): string => `aegis:test:${randomBytes(4).toString("hex")}`;

afterEach(async () => {
  await Promise.all(buses.splice(0).map((created) => created.close()));
});

describe("RedisBus on a running Redis", () => {
  it("delivers between replicas, stamps the origin, and gives each handler each message once", async () => {
    const channel = channelFor();
    const a = bus(sharedUrl, channel, "replica-a");
    const b = bus(sharedUrl, channel, "replica-b");
    const [atA, atB] = [inbox(a), inbox(b)];
    await Promise.all([a.whenConnected(), b.whenConnected()]);

    const started = performance.now();
    await a.publish({ topic: "approval", key: "prod/deployment-web-3f2a9c1b0d", data: { phase: "Approved" } });
    await until(() => (atB.length > 0 ? true : undefined), "b to receive a's hint");
    const latencyMs = performance.now() - started;
    await b.publish({ topic: "policy", key: "prod-gate" });
    await until(() => (atA.length > 1 ? true : undefined), "a to receive b's hint");
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(atB).toEqual([
      { topic: "approval", key: "prod/deployment-web-3f2a9c1b0d", data: { phase: "Approved" }, origin: "replica-a" },
      { topic: "policy", key: "prod-gate", origin: "replica-b" },
    ]);
    expect(atA.map((message) => `${message.origin}:${message.key}`)).toEqual([
      "replica-a:prod/deployment-web-3f2a9c1b0d",
      "replica-b:prod-gate",
    ]);
    expect(latencyMs).toBeLessThan(500);
    expect(a.stats()).toMatchObject({
      kind: "redis",
      published: 1,
      received: 1,
      malformed: 0,
      publishFailures: 0,
      connected: true,
    });
  });

  it("ignores and counts malformed messages, and keeps delivering valid ones", async () => {
    const channel = channelFor();
    const logger = recordingLogger();
    const a = bus(sharedUrl, channel, "replica-a", logger);
    const received = inbox(a);
    await a.whenConnected();
    const raw = new Redis(sharedUrl);
    try {
      await raw.publish(channel, "not json");
      await raw.publish(channel, JSON.stringify({ topic: "nope", key: "x", origin: "evil" }));
      await raw.publish(channel, JSON.stringify({ topic: "approval", key: "", origin: "replica-z" }));
      await raw.publish(channel, JSON.stringify({ topic: "approval", key: "ns/a", origin: "replica-z", extra: 1 }));
      await raw.publish(channel, "x".repeat(70 * 1024));
      await raw.publish(
        channel,
        JSON.stringify({ topic: "approval", key: "ns/ok", data: { phase: "Expired" }, origin: "replica-z" }),
      );
    } finally {
      raw.disconnect();
    }
    await until(() => (received.length > 0 ? true : undefined), "the valid message");
    expect(received).toEqual([{ topic: "approval", key: "ns/ok", data: { phase: "Expired" }, origin: "replica-z" }]);
    expect(a.stats()).toMatchObject({ malformed: 5, received: 1 });
    // Logged, but rate-limited: a flood of garbage is one line.
    expect(logger.lines.filter((line) => line.message.includes("malformed"))).toHaveLength(1);
  });

  it("connects whatever characters the replica id holds", async () => {
    const odd = bus(sharedUrl, channelFor(), "host name/1 ✓");
    await odd.whenConnected();
    await until(() => (odd.stats().connected ? true : undefined), "the publisher to be ready");
  });

  it("a throwing subscriber does not stop delivery to the others", async () => {
    const channel = channelFor();
    const a = bus(sharedUrl, channel, "replica-a");
    const b = bus(sharedUrl, channel, "replica-b");
    b.subscribe(() => {
      throw new Error("broken SSE stream");
    });
    const atB = inbox(b);
    await Promise.all([a.whenConnected(), b.whenConnected()]);
    await a.publish({ topic: "threat", key: "t1" });
    await until(() => (atB.length > 0 ? true : undefined), "delivery past the failing handler");
  });
});

describe("RedisBus through a Redis outage", () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await createPrivateRedis();
  });
  afterAll(async () => {
    await redis?.remove();
  });

  it("degrades to local delivery without throwing, then resumes cross-delivery and resubscribes", async () => {
    const channel = channelFor();
    const logger = recordingLogger();
    const a = bus(redis.url, channel, "replica-a", logger);
    const b = bus(redis.url, channel, "replica-b");
    const [atA, atB] = [inbox(a), inbox(b)];
    await Promise.all([a.whenConnected(), b.whenConnected()]);
    await a.publish({ topic: "approval", key: "ns/before" });
    await until(() => (atB.some((m) => m.key === "ns/before") ? true : undefined), "delivery before the outage");

    await redis.kill();
    await until(() => (a.stats().connected ? undefined : true), "a to notice the outage");
    for (let i = 0; i < 20; i += 1)
      await expect(a.publish({ topic: "approval", key: `ns/during-${i}` })).resolves.toBeUndefined();
    expect(atA.filter((m) => m.key.startsWith("ns/during-"))).toHaveLength(20);
    expect(a.stats().publishFailures).toBeGreaterThanOrEqual(20);
    const warnings = logger.lines.filter((line) => line.level === "warn");
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings.length).toBeLessThanOrEqual(4);

    await new Promise((resolve) => setTimeout(resolve, 1500));
    const restartedAt = performance.now();
    await redis.start();
    await Promise.all([a.whenConnected(15_000), b.whenConnected(15_000)]);
    const resubscribedMs = performance.now() - restartedAt;
    await until(() => (a.stats().connected && b.stats().connected ? true : undefined), "both to reconnect");
    await a.publish({ topic: "approval", key: "ns/after" });
    await b.publish({ topic: "policy", key: "after" });
    await until(() => (atB.some((m) => m.key === "ns/after") ? true : undefined), "a → b after the outage");
    await until(
      () => (atA.some((m) => m.key === "after" && m.origin === "replica-b") ? true : undefined),
      "b → a after the outage",
    );
    expect(atB.filter((m) => m.key.startsWith("ns/during-"))).toHaveLength(0);
    expect(resubscribedMs).toBeLessThan(5000);
    expect(logger.lines.some((line) => line.message.includes("connected again"))).toBe(true);
  });

  it("reconnects when Redis stops answering on an open connection, and resumes when it answers again", async () => {
    const channel = channelFor();
    const logger = recordingLogger();
    const options = { channel, backoff: fastBackoff, heartbeatMs: 200, publishTimeoutMs: 300, connectTimeoutMs: 500 };
    const a = new RedisBus({ url: redis.url, replicaId: "replica-a", logger, ...options });
    const b = new RedisBus({ url: redis.url, replicaId: "replica-b", ...options });
    buses.push(a, b);
    const [atA, atB] = [inbox(a), inbox(b)];
    await Promise.all([a.whenConnected(), b.whenConnected()]);

    redis.pause();
    try {
      await until(
        () => (logger.lines.some((line) => line.message.includes("stopped answering")) ? true : undefined),
        "the heartbeat to notice",
      );
      const started = performance.now();
      await a.publish({ topic: "approval", key: "ns/hung" });
      expect(performance.now() - started).toBeLessThan(1000);
      expect(atA.some((m) => m.key === "ns/hung")).toBe(true);
    } finally {
      redis.resume();
    }
    await until(() => (a.stats().connected && b.stats().connected ? true : undefined), "both to reconnect", 15_000);
    await a.publish({ topic: "approval", key: "ns/answering" });
    await until(() => (atB.some((m) => m.key === "ns/answering") ? true : undefined), "a → b once Redis answers again");
  });

  it("starts while Redis is down, serves locally, and joins when Redis comes up", async () => {
    await redis.kill();
    const channel = channelFor();
    const a = bus(redis.url, channel, "replica-a");
    const atA = inbox(a);
    await a.publish({ topic: "evidence", key: "local-only" });
    expect(atA).toHaveLength(1);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(a.stats().connected).toBe(false);

    await redis.start();
    const b = bus(redis.url, channel, "replica-b");
    const atB = inbox(b);
    await Promise.all([a.whenConnected(15_000), b.whenConnected()]);
    await until(() => (a.stats().connected ? true : undefined), "a to connect");
    await a.publish({ topic: "evidence", key: "shared" });
    await until(() => (atB.some((m) => m.key === "shared") ? true : undefined), "a → b once Redis is up");
  });

  it("close() returns promptly even while Redis is down", async () => {
    await redis.kill();
    const a = bus(redis.url, channelFor(), "replica-a");
    await new Promise((resolve) => setTimeout(resolve, 200));
    const started = performance.now();
    await a.close();
    await a.publish({ topic: "approval", key: "after-close" });
    expect(performance.now() - started).toBeLessThan(100);
    await redis.start();
  });
});
