import { describe, expect, it } from "vitest";
import { reconnectDelayMs, redactRedisUrl, RedisBus } from "../../../src/adapters/bus/redis-bus.js";
import {
  decodeBusMessage,
  deliverToHandlers,
  encodeBusMessage,
  MAX_BUS_MESSAGE_BYTES,
} from "../../../src/adapters/bus/wire.js";
import { createEventBus } from "../../../src/wiring/event-bus.js";
import { InProcessBus } from "../../../src/adapters/bus/in-process-bus.js";
import { controllerForHint, publishingApprovalActions } from "../../../src/bus/resource-hints.js";
import type { BusMessage } from "../../../src/ports/bus.js";
import { silentLogger } from "../../../src/ports/logger.js";
import type { ApprovalRequest, ApprovalRequestStatus } from "../../../src/api/v1alpha1/index.js";

describe("bus wire format", () => {
  it("round-trips a stamped message", () => {
    const message = {
      topic: "approval" as const,
      key: "prod/deployment-web-3f2a9c1b0d",
      data: { phase: "Approved", approvals: 1 },
      origin: "host_1234",
    };
    expect(decodeBusMessage(encodeBusMessage(message))).toEqual({ ok: true, message });
    expect(decodeBusMessage(encodeBusMessage({ topic: "policy", key: "p", origin: "o" }))).toEqual({
      ok: true,
      message: { topic: "policy", key: "p", origin: "o" },
    });
  });

  it.each([
    ["not JSON", "{", /not JSON/],
    ["an array", "[]", /expected object/],
    ["an unknown topic", JSON.stringify({ topic: "x", key: "k", origin: "o" }), /topic/],
    ["no origin", JSON.stringify({ topic: "approval", key: "k" }), /origin/],
    ["an empty key", JSON.stringify({ topic: "approval", key: "", origin: "o" }), /key/],
    ["data that is not an object", JSON.stringify({ topic: "approval", key: "k", data: [1], origin: "o" }), /data/],
    ["unknown fields", JSON.stringify({ topic: "approval", key: "k", origin: "o", extra: true }), /extra|Unrecognized/],
    [
      "too large",
      JSON.stringify({ topic: "approval", key: "k", origin: "o", data: { x: "y".repeat(MAX_BUS_MESSAGE_BYTES) } }),
      /larger than/,
    ],
  ])("rejects %s with a reason", (_, text, reason) => {
    const decoded = decodeBusMessage(text);
    expect(decoded.ok).toBe(false);
    if (!decoded.ok) expect(decoded.reason).toMatch(reason);
  });

  it("names the message when data cannot be serialised", () => {
    expect(() => encodeBusMessage({ topic: "threat", key: "t", data: { n: 1n }, origin: "o" })).toThrow(
      /threat t is not serialisable/,
    );
  });

  it("keeps delivering after a handler throws", () => {
    const seen: string[] = [];
    const handlers = [
      () => {
        throw new Error("boom");
      },
      (message: BusMessage) => seen.push(message.key),
    ];
    deliverToHandlers(handlers, { topic: "policy", key: "p" }, silentLogger);
    expect(seen).toEqual(["p"]);
  });
});

describe("reconnect backoff", () => {
  it("doubles from the initial delay up to the cap, with at most 20 % jitter", () => {
    const noJitter = (attempt: number): number =>
      reconnectDelayMs(attempt, { initialDelayMs: 100, maxDelayMs: 5000 }, () => 0);
    expect([1, 2, 3, 4, 5, 6, 7, 100, 10_000].map(noJitter)).toEqual([
      100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000,
    ]);
    expect(reconnectDelayMs(100, {}, () => 0.999)).toBeLessThanOrEqual(6000);
    expect(reconnectDelayMs(1, {}, () => 0.5)).toBe(110);
  });

  it("refuses an unusable URL at construction, without its password", () => {
    expect(() => new RedisBus({ url: "redis://user:secret@127.0.0.1:99999", replicaId: "r" })).toThrow(
      /Redis URL redis:\/\/\*\*\*@127.0.0.1:99999 is not valid/,
    );
    expect(() => new RedisBus({ url: "http://127.0.0.1:6379", replicaId: "r" })).toThrow(/unsupported protocol http:/);
  });

  it("keeps credentials out of logged URLs", () => {
    expect(redactRedisUrl("redis://user:secret@redis.example:6380/2")).toBe("redis://redis.example:6380/2");
    expect(redactRedisUrl("redis://127.0.0.1:6379")).toBe("redis://127.0.0.1:6379");
  });
});

describe("createEventBus", () => {
  it("is in-process without a Redis URL, stamping the replica id", async () => {
    const bus = createEventBus(undefined, silentLogger, "replica-1");
    expect(bus).toBeInstanceOf(InProcessBus);
    const seen: BusMessage[] = [];
    bus.subscribe((message) => seen.push(message));
    await bus.publish({ topic: "approval", key: "ns/n" });
    expect(seen).toEqual([{ topic: "approval", key: "ns/n", origin: "replica-1" }]);
    expect(bus.stats()).toMatchObject({ kind: "in-process", published: 1, connected: true });
    await bus.close();
  });
});

describe("transition hints", () => {
  const noWrites = { emitEvent: () => Promise.resolve(), delete: () => Promise.resolve() };
  const request = (status?: ApprovalRequestStatus): ApprovalRequest =>
    ({
      apiVersion: "aegis.valina.ai/v1alpha1",
      kind: "ApprovalRequest",
      metadata: { name: "deployment-web-1", namespace: "prod" },
      spec: {},
      ...(status ? { status } : {}),
    }) as unknown as ApprovalRequest;

  it("publishes after a status write that changes the phase or the count, not otherwise", async () => {
    const bus = new InProcessBus("leader");
    const seen: BusMessage[] = [];
    bus.subscribe((message) => seen.push(message));
    const writes: string[] = [];
    const actions = publishingApprovalActions(
      { patchStatus: (_, status) => Promise.resolve(void writes.push(status.phase ?? "")), ...noWrites },
      bus,
    );

    await actions.patchStatus(request(), { phase: "Pending", approvals: 0, requiredApprovals: 1 });
    await actions.patchStatus(request({ phase: "Pending", approvals: 0 }), {
      phase: "Pending",
      approvals: 0,
      expiresAt: "2026-01-01T00:00:00Z",
    });
    await actions.patchStatus(request({ phase: "Pending", approvals: 0 }), {
      phase: "Approved",
      approvals: 1,
      requiredApprovals: 1,
    });
    expect(writes).toEqual(["Pending", "Pending", "Approved"]);
    expect(seen.map((message) => [message.key, message.data?.["from"], message.data?.["phase"]])).toEqual([
      ["prod/deployment-web-1", null, "Pending"],
      ["prod/deployment-web-1", "Pending", "Approved"],
    ]);
  });

  it("does not publish when the write fails", async () => {
    const bus = new InProcessBus("leader");
    const seen: BusMessage[] = [];
    bus.subscribe((message) => seen.push(message));
    const actions = publishingApprovalActions(
      { patchStatus: () => Promise.reject(new Error("409")), ...noWrites },
      bus,
    );
    await expect(actions.patchStatus(request(), { phase: "Pending" })).rejects.toThrow("409");
    expect(seen).toEqual([]);
  });

  it("maps hints to the controller that owns the key", () => {
    expect(controllerForHint({ topic: "approval", key: "a/b" })).toBe("ApprovalRequest");
    expect(controllerForHint({ topic: "policy", key: "p" })).toBe("AegisPolicy");
    expect(controllerForHint({ topic: "threat", key: "t" })).toBeUndefined();
  });
});
