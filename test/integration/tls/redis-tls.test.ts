// The Redis event bus and the replay guard over TLS with an ACL user, against a redis-server of
// this file's own that has no plain port (--port 0 --tls-port …) and the `default` user off.
import { Writable } from "node:stream";
import { Redis } from "ioredis";
import { pino } from "pino";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RedisBus, redisTlsOptions } from "../../../src/adapters/bus/redis-bus.js";
import { RedisThreatStateStore } from "../../../src/adapters/redis/threat-state.js";
import { RedisReplayGuard } from "../../../src/adapters/slack/replay-guard.js";
import type { BusMessage } from "../../../src/ports/bus.js";
import type { Logger } from "../../../src/ports/logger.js";
import { adminClient, startPrivateTlsRedis, type PrivateTlsRedis } from "./private-tls-redis.js";
import { createCertificateAuthority, serverCertificate, tlsFiles, type TlsFiles } from "./tls-files.js";

const PASSWORD = "bus-pa55word-never-logged";
const WRONG_PASSWORD = "wrong-pa55word-never-logged";
/**
 * AEGIS's least-privilege ACL (docs/security.md "Redis"): the bus PUBLISHes and SUBSCRIBEs on
 * aegis:events and PINGs; the replay guard SETs aegis:replay:* NX EX; the client's handshake
 * sends CLIENT SETNAME and INFO (its ready check; without it ioredis prints a warning); HELLO needs
 * no permission, and CLIENT SETINFO (Redis 7.2+) may fail unheard.
 */
const AEGIS_ACL = [
  "on",
  `>${PASSWORD}`,
  "resetchannels",
  "&aegis:events",
  "resetkeys",
  "~aegis:replay:*",
  "-@all",
  "+ping",
  "+info",
  "+client|setname",
  "+publish",
  "+subscribe",
  "+set",
];

/** The simpler ACL docs/security.md offers: AEGIS's names only, any command but @dangerous. */
const BROAD_ACL = ["on", `>${PASSWORD}`, "resetchannels", "&aegis:*", "resetkeys", "~aegis:*", "+@all", "-@dangerous"];

let redis: PrivateTlsRedis;
let files: TlsFiles;
let caPem = "";
const paths = { ca: "", otherCa: "" };

/** A real pino logger (the serializers `aegis serve` uses) writing JSON lines into `text`. */
function capturedLogger(): { logger: Logger; text: () => string } {
  let text = "";
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { logger: pino({ level: "info" }, sink), text: () => text };
}

const buses: RedisBus[] = [];
function bus(url: string, replicaId: string, caFile: string | undefined, logger?: Logger): RedisBus {
  const created = new RedisBus({
    url,
    replicaId,
    caFile,
    ...(logger ? { logger } : {}),
    backoff: { initialDelayMs: 50, maxDelayMs: 400 },
    connectTimeoutMs: 2_000,
  });
  buses.push(created);
  return created;
}

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

beforeAll(async () => {
  files = tlsFiles("redis-tls");
  const issued = await serverCertificate(["localhost", "127.0.0.1"], "aegis-test-redis-ca");
  const other = await createCertificateAuthority("some-other-ca");
  caPem = issued.ca.certPem;
  paths.ca = files.write("ca.crt", issued.ca.certPem);
  paths.otherCa = files.write("other-ca.crt", other.certPem);
  redis = await startPrivateTlsRedis({
    serverCert: issued.certPem,
    serverKey: issued.keyPem,
    ca: issued.ca.certPem,
    bind: ["127.0.0.1", "127.0.0.2"],
    users: { aegis: AEGIS_ACL, "aegis-broad": BROAD_ACL },
  });
});

afterEach(async () => {
  await Promise.all(buses.splice(0).map((created) => created.close()));
});

afterAll(async () => {
  await redis?.remove();
  files?.remove();
});

describe("the Redis bus over TLS with an ACL user", () => {
  it("delivers between two replicas, by address and by host name, with the least-privilege ACL", async () => {
    const a = capturedLogger();
    const b = capturedLogger();
    const first = bus(redis.url("aegis", PASSWORD), "replica-a", paths.ca, a.logger);
    const second = bus(redis.url("aegis", PASSWORD, "localhost"), "replica-b", paths.ca, b.logger);
    const atB: BusMessage[] = [];
    second.subscribe((message) => atB.push(message));
    await Promise.all([first.whenConnected(), second.whenConnected()]);
    await first.publish({ topic: "approval", key: "prod/deployment-web-3f2a9c1b0d", data: { phase: "Approved" } });
    await until(() => atB.length > 0, "replica-b to receive replica-a's hint");
    expect(atB).toEqual([
      { topic: "approval", key: "prod/deployment-web-3f2a9c1b0d", data: { phase: "Approved" }, origin: "replica-a" },
    ]);
    expect(first.stats()).toMatchObject({ connected: true, publishFailures: 0 });
    // Nothing the ACL refused on the way (a NOPERM would be logged as a warning).
    expect(a.text() + b.text()).toBe("");
  });

  it("the replay guard's SET NX EX works with the same user and transport", async () => {
    const url = redis.url("aegis", PASSWORD);
    const client = new Redis(url, { maxRetriesPerRequest: 1, ...redisTlsOptions(url, paths.ca) });
    try {
      const guard = new RedisReplayGuard(client);
      expect(await guard.firstSeen("interaction-1", 60)).toBe(true);
      expect(await guard.firstSeen("interaction-1", 60)).toBe(false);
    } finally {
      client.disconnect();
    }
  });

  it("the simpler ACL (aegis:* names, no @dangerous) serves the bus and the replay guard too", async () => {
    const captured = capturedLogger();
    const url = redis.url("aegis-broad", PASSWORD);
    const [first, second] = [
      bus(url, "replica-a", paths.ca, captured.logger),
      bus(url, "replica-b", paths.ca, captured.logger),
    ];
    const atB: BusMessage[] = [];
    second.subscribe((message) => atB.push(message));
    await Promise.all([first.whenConnected(), second.whenConnected()]);
    await first.publish({ topic: "policy", key: "prod-gate" });
    await until(() => atB.length > 0, "replica-b to receive the hint");
    const client = new Redis(url, { maxRetriesPerRequest: 1, ...redisTlsOptions(url, paths.ca) });
    try {
      expect(await new RedisReplayGuard(client).firstSeen("interaction-broad", 60)).toBe(true);
      await expect(client.set("other:key", "1")).rejects.toThrow(/NOPERM/);
      await expect(client.flushall()).rejects.toThrow(/NOPERM/);
    } finally {
      client.disconnect();
    }
    expect(captured.text()).toBe("");
  });

  it("the simpler ACL also serves the shared threat state (Lua scripts on aegis:threats:*), which the least-privilege one does not", async () => {
    const store = (user: string): RedisThreatStateStore => {
      const url = redis.url(user, PASSWORD);
      return new RedisThreatStateStore({ url, transport: redisTlsOptions(url, paths.ca), replicaId: user });
    };
    const broad = store("aegis-broad");
    const narrow = store("aegis");
    const op = { op: "window", key: "denials:alice", atMs: Date.now(), windowMs: 60_000, member: "m1" } as const;
    try {
      await broad.whenReady();
      expect(await broad.count([op], 1)).toEqual([{ op: "window", count: 1, firstMs: op.atMs }]);
      expect((await broad.lockdown(Date.now())).current).toBeNull();
      await narrow.whenReady();
      await expect(narrow.count([op], 1)).rejects.toThrow(/NOPERM/);
    } finally {
      await Promise.all([broad.close(), narrow.close()]);
    }
  });

  it("the ACL holds that user to AEGIS's channel and keys", async () => {
    const client = adminClient(redis.url("aegis", PASSWORD), caPem);
    try {
      await client.connect();
      await expect(client.publish("other:channel", "x")).rejects.toThrow(/NOPERM/);
      await expect(client.set("other:key", "1")).rejects.toThrow(/NOPERM/);
      await expect(client.get("aegis:replay:interaction-1")).rejects.toThrow(/NOPERM/);
      await expect(client.flushall()).rejects.toThrow(/NOPERM/);
    } finally {
      client.disconnect();
    }
  });
});

describe("the Redis bus refuses what it cannot trust", () => {
  it("a server certificate from another CA: never connects, and the log names --redis-ca-file", async () => {
    const captured = capturedLogger();
    const refused = bus(redis.url("aegis", PASSWORD), "replica-a", paths.otherCa, captured.logger);
    await expect(refused.whenConnected(1_500)).rejects.toThrow(/not connected/);
    const log = captured.text();
    expect(log).toContain("Redis bus: cannot connect");
    expect(log).toContain(`is not signed by the CA in ${paths.otherCa}`);
    expect(log).toContain("--redis-ca-file (AEGIS_REDIS_CA_FILE)");
    expect(log).not.toContain(PASSWORD);
  });

  it("a certificate that does not name the host connected to (127.0.0.2): refused", async () => {
    const captured = capturedLogger();
    const refused = bus(redis.url("aegis", PASSWORD, "127.0.0.2"), "replica-a", paths.ca, captured.logger);
    await expect(refused.whenConnected(1_500)).rejects.toThrow(/not connected/);
    expect(captured.text()).toContain("the Redis server's certificate does not name 127.0.0.2");
  });

  it("a wrong password: refused, logged once with WRONGPASS and what to check, the password never", async () => {
    const captured = capturedLogger();
    const url = redis.url("aegis", WRONG_PASSWORD);
    const refused = bus(url, "replica-a", paths.ca, captured.logger);
    await expect(refused.whenConnected(1_500)).rejects.toThrow(/not connected/);
    // A publish while refused reaches this replica only and is counted, never thrown.
    await refused.publish({ topic: "policy", key: "prod-gate" });
    const log = captured.text();
    expect(log).toContain("WRONGPASS");
    expect(log).toContain("Redis refused the user name and password of REDIS_URL");
    expect(log).toContain(`"redis":"rediss://127.0.0.1:${redis.port}"`);
    expect(log).not.toContain(WRONG_PASSWORD);
    expect(log).not.toContain(encodeURIComponent(WRONG_PASSWORD));
    const lines = log.trim().split("\n");
    expect(lines.filter((line) => line.includes("WRONGPASS")).length).toBeLessThanOrEqual(2); // publisher, subscriber
  });

  it("a CA file with a redis:// URL is a configuration error: nothing would be encrypted", () => {
    expect(() => redisTlsOptions(`redis://aegis:${PASSWORD}@127.0.0.1:${redis.port}`, paths.ca)).toThrow(
      /--redis-ca-file \(AEGIS_REDIS_CA_FILE\) needs a rediss:\/\/ URL; redis:\/\/127\.0\.0\.1:\d+ is not encrypted/,
    );
  });
});
