// Threat windows and the automatic lockdown as one state across replicas, against real Redis:
// two "replicas" (each its createThreatDetection, its Redis connection and its Redis bus) on the
// shared Redis (REDIS_URL, `npm run services:up`) with a key prefix and bus channel of their own,
// and on a private Redis this file kills and starts again for the outage.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { Registry } from "prom-client";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { RedisBus } from "../../../src/adapters/bus/redis-bus.js";
import { RedisThreatStateStore } from "../../../src/adapters/redis/threat-state.js";
import type { EvidenceEvent } from "../../../src/ports/evidence.js";
import type { LogFields, Logger } from "../../../src/ports/logger.js";
import type { CountOp, ThreatClaim, ThreatStateStore } from "../../../src/ports/threat-state.js";
import { denialBurstDetector, MemoryThreatStateStore } from "../../../src/threats/index.js";
import type { DecisionLike } from "../../../src/threats/observation.js";
import { createThreatDetection, type ThreatDetection } from "../../../src/wiring/threats.js";
import { createPrivateRedis, type PrivateRedis } from "../redis/private-redis.js";

const sharedUrl = process.env["REDIS_URL"] || "redis://127.0.0.1:6379";
/** The bound this file holds replicas to: B asks for the lockdown's approvals this soon after A. */
const AGREEMENT_BOUND_MS = 2_000;

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

/** One evidence ledger for both replicas, as PostgreSQL is. */
function sharedLedger(): { records: EvidenceEvent[]; record(event: EvidenceEvent): Promise<void> } {
  const records: EvidenceEvent[] = [];
  return {
    records,
    record: (event) => {
      records.push(event);
      return Promise.resolve();
    },
  };
}

const transitions = (records: readonly EvidenceEvent[], transition: string): EvidenceEvent[] =>
  records.filter((record) => record.subject === "lockdown" && record.data["transition"] === transition);

function denial(user: string): DecisionLike {
  return {
    at: new Date(),
    user,
    groups: ["developers"],
    namespace: "prod",
    kind: "Deployment",
    allowed: false,
    reason: "PolicyViolation",
    violations: [{ rule: "owner" }],
    images: [],
  };
}

async function until<T>(check: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

interface Replica {
  name: string;
  threats: ThreatDetection;
  store: RedisThreatStateStore;
  bus: RedisBus | undefined;
  logger: ReturnType<typeof recordingLogger>;
  registry: Registry;
}

const running: Replica[] = [];
const prefixes: string[] = [];

async function replica(
  name: string,
  options: {
    url: string;
    prefix: string;
    channel?: string;
    ledger: ReturnType<typeof sharedLedger>;
    lockdownMs: number;
  },
): Promise<Replica> {
  const logger = recordingLogger();
  const store = new RedisThreatStateStore({
    url: options.url,
    prefix: options.prefix,
    replicaId: name,
    backoff: { initialDelayMs: 50, maxDelayMs: 200 },
  });
  const bus =
    options.channel === undefined
      ? undefined
      : new RedisBus({
          url: options.url,
          channel: options.channel,
          replicaId: name,
          backoff: { initialDelayMs: 50, maxDelayMs: 200 },
        });
  await Promise.all([store.whenReady(), bus?.whenConnected()]);
  const registry = new Registry();
  const threats = createThreatDetection({
    evidence: options.ledger,
    threatsMetric: { inc: () => undefined },
    ...(bus ? { bus } : {}),
    logger,
    actor: "system:serviceaccount:aegis:aegis",
    store,
    replica: name,
    registry,
    tuning: {
      // 10 denials in a minute: high (lockdown); 5: medium.
      detectors: [denialBurstDetector({ windowMs: 60_000, levels: { medium: 5, high: 10 }, cooldownMs: 300_000 })],
      lockdownMs: options.lockdownMs,
    },
  });
  const created = { name, threats, store, bus, logger, registry };
  running.push(created);
  return created;
}

function newPrefix(): string {
  const prefix = `aegis:test:threats:${randomBytes(4).toString("hex")}:`;
  prefixes.push(prefix);
  return prefix;
}

afterEach(async () => {
  for (const { threats, bus } of running.splice(0)) {
    await threats.close();
    await bus?.close();
  }
});

afterAll(async () => {
  const redis = new Redis(sharedUrl);
  for (const prefix of prefixes) {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
  }
  redis.disconnect();
});

describe("the Redis store", () => {
  it("answers as the memory store does: windows, minutes, first-seen, cooldown slots, lockdown SET NX and end", async () => {
    const redisStore = new RedisThreatStateStore({ url: sharedUrl, prefix: newPrefix() });
    await redisStore.whenReady();
    const memory = new MemoryThreatStateStore();
    const t = Date.now();
    const minute = Math.floor(t / 60_000);
    const ops: CountOp[] = [
      { op: "window", key: "w", atMs: t, windowMs: 1_000, member: "a:1" },
      { op: "window", key: "w", atMs: t + 400, windowMs: 1_000, member: "b:1" },
      { op: "window", key: "w", atMs: t + 1_200, windowMs: 1_000, member: "a:2" },
      { op: "minute", key: "m", minute },
      { op: "minute", key: "m", minute },
      { op: "minute", key: "m", minute: minute + 1 },
      { op: "first-seen", key: "s", member: "quay.io/x", atMs: t },
      { op: "first-seen", key: "s", member: "quay.io/x", atMs: t + 5 },
      { op: "first-seen", key: "s", member: "ghcr.io/y", atMs: t + 9 },
    ];
    const claim = (rank: number, atMs: number): ThreatClaim => ({
      key: "slot",
      rank,
      atMs,
      periodMs: 60_000,
      source: "registry/quay.io/x",
      threat: { id: `t-${rank}-${atMs}` },
    });
    const claims = [claim(1, t), claim(1, t + 10), claim(2, t + 20), claim(2, t + 30), claim(0, t + 60_020)];
    const lockdown = { id: "lockdown:1", sinceMs: t, untilMs: t + 60_000, reason: "r", origin: "a" };
    const run = async (store: ThreatStateStore) => ({
      counts: [...(await store.count(ops.slice(0, 5), 2)), ...(await store.count(ops.slice(5), 1))],
      claims: await store.claim(claims),
      first: await store.lockDown(lockdown, 60_000, t),
      second: await store.lockDown({ ...lockdown, id: "lockdown:2", untilMs: t + 90_000, reason: "r2" }, 90_000, t),
      endWhileRunning: await store.claimLockdownEnd("lockdown:1", t),
      cleared: await store.clearLockdown(),
      ends: [await store.claimLockdownEnd("lockdown:1", t), await store.claimLockdownEnd("lockdown:1", t)],
      state: await store.lockdown(t),
      snapshot: await store.snapshot(10),
    });
    try {
      const [fromRedis, fromMemory] = [await run(redisStore), await run(memory)];
      expect(fromRedis).toEqual(fromMemory);
      expect(fromRedis.claims).toEqual([true, false, true, false, true]);
      expect(fromRedis.second).toMatchObject({ started: false, lockdown: { id: "lockdown:1", untilMs: t + 90_000 } });
      expect(fromRedis.ends).toEqual([true, false]);
    } finally {
      await redisStore.close();
    }
  });
});

describe("two replicas sharing threat state in Redis", () => {
  it("add up their observations to one lockdown, and agree on the approvals within 2 s (bus hint)", async () => {
    const ledger = sharedLedger();
    const common = { url: sharedUrl, prefix: newPrefix(), channel: newPrefix(), ledger, lockdownMs: 60_000 };
    const a = await replica("a", common);
    const b = await replica("b", common);

    // 9 denials between them stay below high (10): nobody locks down.
    for (let i = 0; i < 5; i += 1) a.threats.onDecision(denial("mallory"));
    for (let i = 0; i < 4; i += 1) b.threats.onDecision(denial("mallory"));
    await Promise.all([a.threats.detector.flush(), b.threats.detector.flush()]);
    expect([a.threats.extraApprovals(), b.threats.extraApprovals()]).toEqual([0, 0]);

    // The 10th, on B: B's count is the cluster's, 10.
    b.threats.onDecision(denial("mallory"));
    const started = await until(() => b.threats.extraApprovals() === 1 && Date.now(), "B to lock down", 5_000);
    const agreed = await until(() => a.threats.extraApprovals() === 1 && Date.now(), "A to follow", 5_000);
    const lagMs = agreed - started;
    console.info(`threats: replica A asked for the lockdown's approvals ${lagMs} ms after replica B (bus hint)`);
    expect(lagMs).toBeLessThanOrEqual(AGREEMENT_BOUND_MS);

    const [statusA, statusB] = (await Promise.all([a.threats.securityStatus(), b.threats.securityStatus()])) as {
      mode: string;
      lockdown: { since: string; scope: string } | null;
      extraApprovals: number;
      observed: number;
      counts: Record<string, number>;
      state: { store: string; healthy: boolean };
    }[];
    expect(statusA).toMatchObject({ mode: "lockdown", extraApprovals: 1, state: { store: "shared", healthy: true } });
    expect(statusA?.lockdown).toEqual(statusB?.lockdown);
    expect(statusA?.lockdown?.scope).toBe("cluster");
    expect(statusA?.counts).toEqual(statusB?.counts);
    expect(statusA?.counts).toMatchObject({ medium: 1, high: 1 });
    expect(statusA?.observed).toBe(10);
    // Each threat once, the lockdown's start once, across both replicas.
    expect(ledger.records.filter((record) => record.subject === "user/mallory")).toHaveLength(2);
    expect(transitions(ledger.records, "lockdown.started")).toHaveLength(1);
    expect(new Set(ledger.records.map((record) => record.id)).size).toBe(ledger.records.length);
  });

  it("agree within 2 s on the poll alone (no bus), and end the lockdown on both when its TTL runs out, recorded once", async () => {
    const ledger = sharedLedger();
    const common = { url: sharedUrl, prefix: newPrefix(), ledger, lockdownMs: 2_000 };
    const a = await replica("a", common);
    const b = await replica("b", common);
    for (let i = 0; i < 10; i += 1) a.threats.onDecision(denial("mallory"));
    const started = await until(() => a.threats.extraApprovals() === 1 && Date.now(), "A to lock down", 5_000);
    const agreed = await until(() => b.threats.extraApprovals() === 1 && Date.now(), "B to follow", 5_000);
    console.info(`threats: replica B followed ${agreed - started} ms after replica A (poll only)`);
    expect(agreed - started).toBeLessThanOrEqual(AGREEMENT_BOUND_MS);

    // The key's TTL ends it; both go back to normal, and one of them records the end.
    const endA = await until(() => a.threats.extraApprovals() === 0 && Date.now(), "A to end", 10_000);
    const endB = await until(() => b.threats.extraApprovals() === 0 && Date.now(), "B to end", 10_000);
    expect(Math.abs(endA - endB)).toBeLessThanOrEqual(AGREEMENT_BOUND_MS);
    await until(() => transitions(ledger.records, "lockdown.ended").length > 0, "the end's record", 5_000);
    // Both poll a few more times: still one end record.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(transitions(ledger.records, "lockdown.started")).toHaveLength(1);
    expect(transitions(ledger.records, "lockdown.ended")).toHaveLength(1);
    const [started0] = transitions(ledger.records, "lockdown.started");
    const [ended0] = transitions(ledger.records, "lockdown.ended");
    expect(ended0?.data["lockdown"]).toBe(started0?.data["lockdown"]);
  });

  it("records one start when both replicas lock down at the same moment (SET NX)", async () => {
    const ledger = sharedLedger();
    const common = { url: sharedUrl, prefix: newPrefix(), channel: newPrefix(), ledger, lockdownMs: 60_000 };
    const a = await replica("a", common);
    const b = await replica("b", common);
    // Two users, each with 10 denials on one replica: two high threats, two lockDown calls.
    for (let i = 0; i < 10; i += 1) {
      a.threats.onDecision(denial("mallory"));
      b.threats.onDecision(denial("eve"));
    }
    await Promise.all([a.threats.detector.flush(), b.threats.detector.flush()]);
    expect(ledger.records.filter((record) => record.data["severity"] === "high")).toHaveLength(2);
    expect(transitions(ledger.records, "lockdown.started")).toHaveLength(1);
    await until(() => a.threats.extraApprovals() === 1 && b.threats.extraApprovals() === 1, "both in lockdown", 3_000);
    expect(a.threats.detector.lockdown()?.id).toBe(b.threats.detector.lockdown()?.id);
  });
});

describe("a Redis outage", () => {
  let redis: PrivateRedis | undefined;
  afterAll(async () => {
    await redis?.remove();
  });

  it("keeps the last known lockdown, counts on each replica's own windows, logs once, counts errors; rejoins", async () => {
    redis = await createPrivateRedis();
    const ledger = sharedLedger();
    const common = { url: redis.url, prefix: newPrefix(), channel: newPrefix(), ledger, lockdownMs: 3_000 };
    const a = await replica("a", common);
    const b = await replica("b", common);
    for (let i = 0; i < 10; i += 1) a.threats.onDecision(denial("mallory"));
    await until(() => b.threats.extraApprovals() === 1, "B to follow A's lockdown", AGREEMENT_BOUND_MS);

    await redis.kill();
    // Past the lockdown's end (3 s): held on both, since neither can tell whether it was extended.
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    expect([a.threats.extraApprovals(), b.threats.extraApprovals()]).toEqual([1, 1]);
    const status = (await b.threats.securityStatus()) as {
      lockdown: { stale: boolean; scope: string } | null;
      state: { healthy: boolean; degradedSince: string | null };
    };
    expect(status.lockdown).toMatchObject({ scope: "cluster", stale: true });
    expect(status.state.healthy).toBe(false);
    expect(status.state.degradedSince).not.toBeNull();
    for (const replicaOf of [a, b]) {
      const warnings = replicaOf.logger.lines.filter((line) => line.message.includes("does not answer"));
      expect(warnings, replicaOf.name).toHaveLength(1);
      const metrics = await replicaOf.registry.metrics();
      expect(metrics).toMatch(/aegis_threat_state_errors_total [1-9]/);
      expect(metrics).toMatch(/aegis_threat_state_healthy 0/);
    }

    // Own windows go on: 10 denials from eve on B alone start B's own lockdown, recorded.
    for (let i = 0; i < 10; i += 1) b.threats.onDecision(denial("eve"));
    await b.threats.detector.flush();
    const own = transitions(ledger.records, "lockdown.started").filter((record) => record.data["scope"] === "replica");
    expect(own).toHaveLength(1);
    expect(
      ledger.records.filter((record) => record.subject === "user/eve" && record.data["severity"] === "high"),
    ).toHaveLength(1);

    // Redis comes back (empty: no persistence). B writes its lockdown to it; A follows within the bound;
    // the first lockdown's end is recorded once; no second start record for B's.
    await redis.start();
    await until(
      () => b.threats.detector.stats().healthy && a.threats.detector.stats().healthy,
      "both to reconnect",
      10_000,
    );
    const ownId = own[0]?.data["lockdown"];
    await until(
      () => a.threats.detector.lockdown()?.id === ownId && !a.threats.detector.lockdown()?.stale,
      "A to read B's lockdown",
      AGREEMENT_BOUND_MS + 1_000,
    );
    expect(a.threats.extraApprovals()).toBe(1);
    await until(() => transitions(ledger.records, "lockdown.ended").length > 0, "the first lockdown's end", 3_000);
    expect(transitions(ledger.records, "lockdown.ended")).toHaveLength(1);
    expect(transitions(ledger.records, "lockdown.started")).toHaveLength(2);
    expect(new Set(ledger.records.map((record) => record.id)).size).toBe(ledger.records.length);
    for (const replicaOf of [a, b])
      expect(
        replicaOf.logger.lines.filter((line) => line.message.includes("answers again")).length,
      ).toBeGreaterThanOrEqual(1);
  });

  it("a Redis that stops answering (SIGSTOP) costs the admission path nothing; calls time out and the replica decides alone", async () => {
    redis ??= await createPrivateRedis();
    await redis.start();
    const ledger = sharedLedger();
    const common = { url: redis.url, prefix: newPrefix(), channel: newPrefix(), ledger, lockdownMs: 60_000 };
    const a = await replica("a", common);
    const b = await replica("b", common);
    redis.pause();
    try {
      const startedAt = performance.now();
      for (let i = 0; i < 10; i += 1) {
        a.threats.onDecision(denial("mallory"));
        a.threats.extraApprovals();
      }
      // Queued and read from memory: no round trip on the webhook's path.
      expect(performance.now() - startedAt).toBeLessThan(50);
      await a.threats.detector.flush(); // one count call that times out (500 ms), then this replica's windows
      expect(a.threats.detector.lockdown()).toMatchObject({ scope: "replica" });
      expect(a.threats.extraApprovals()).toBe(1);
      // B cannot know yet: the documented limit of a partition.
      expect(b.threats.extraApprovals()).toBe(0);
    } finally {
      redis.resume();
    }
    const resumedAt = Date.now();
    await until(() => b.threats.extraApprovals() === 1, "B to read A's lockdown once Redis answers", 5_000);
    console.info(`threats: replica B followed ${Date.now() - resumedAt} ms after Redis answered again`);
    expect(Date.now() - resumedAt).toBeLessThanOrEqual(AGREEMENT_BOUND_MS + 1_000);
    expect(transitions(ledger.records, "lockdown.started")).toHaveLength(1);
  });
});
