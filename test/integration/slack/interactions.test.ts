// POST /slack/interactions over HTTP: a correctly signed button click approves as the mapped
// Kubernetes identity (via: slack); a bad signature, a stale timestamp or a replay changes
// nothing and is answered with an error; replay protection shared through real Redis.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { StaticSlackIdentityMap } from "../../../src/adapters/slack/identity-map.js";
import { MemoryReplayGuard, RedisReplayGuard } from "../../../src/adapters/slack/replay-guard.js";
import type { ReplayGuard } from "../../../src/ports/notify.js";
import { slackSignature } from "../../../src/http/slack-signature.js";
import { aegisPolicy, approvalRequest, DEFAULT_POLICY_SPEC, harness, listen, type Harness } from "../http/harness.js";
import { startFakeSlack, type FakeSlack } from "./fake-slack.js";

const SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const REQUEST = "deployment-web-3f2a9c1b0d";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

let slack: FakeSlack;
let close: (() => Promise<void>) | undefined;

beforeAll(async () => {
  slack = await startFakeSlack();
});
afterAll(async () => {
  await slack.close();
});
afterEach(async () => {
  await close?.();
  close = undefined;
});

async function setup(
  replay: ReplayGuard = new MemoryReplayGuard(),
  minApprovals = 2,
): Promise<{ h: Harness; url: string }> {
  const identities = new StaticSlackIdentityMap({
    U0ALICE: "alice;sre-leads",
    U0BOB: "bob;qa",
    U0CAROL: "carol;sre-leads",
  });
  const h = harness({ slack: { signingSecret: SECRET, identities, replay, responseUrlPrefix: slack.responseUrl("") } });
  h.policies.add(
    aegisPolicy("prod-gate", { ...DEFAULT_POLICY_SPEC, approval: { ...DEFAULT_POLICY_SPEC.approval, minApprovals } }),
  );
  h.auth.approvers.add("alice");
  h.auth.approvers.add("carol");
  h.approvals.put(approvalRequest(REQUEST));
  const running = await listen(h.deps);
  close = running.close;
  return { h, url: `${running.url}/slack/interactions` };
}

function interaction(user: string, action = "aegis_approve", value = `prod/${REQUEST}`): string {
  const payload = {
    type: "block_actions",
    trigger_id: `${Date.now()}.${randomBytes(4).toString("hex")}`,
    response_url: slack.responseUrl(randomBytes(4).toString("hex")),
    user: { id: user, username: user.toLowerCase() },
    container: { type: "message", message_ts: "1700000000.000100", channel_id: "C0DEPLOYS" },
    actions: [{ action_id: action, block_id: "aegis_decision", value, action_ts: `${Date.now() / 1000}` }],
  };
  return `payload=${encodeURIComponent(JSON.stringify(payload))}`;
}

function send(url: string, body: string, options: { timestamp?: number; signature?: string } = {}): Promise<Response> {
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  return fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-slack-request-timestamp": timestamp,
      "x-slack-signature": options.signature ?? slackSignature(SECRET, timestamp, body),
    },
    body,
  });
}

const decisionsOf = (h: Harness): unknown[] => h.approvals.get(REQUEST, "prod")?.spec.decisions ?? [];

async function ephemeralFor(body: string): Promise<string> {
  const payload = JSON.parse(new URLSearchParams(body).get("payload") ?? "{}") as { response_url: string };
  const path = new URL(payload.response_url).pathname;
  for (let i = 0; i < 100; i++) {
    const found = slack.responses.find((call) => call.path === path);
    if (found) return String(found.body.text);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`no ephemeral reply posted to ${path}`);
}

describe("Slack interactions", () => {
  it("a correctly signed Approve click records the mapped identity's decision via slack", async () => {
    const { h, url } = await setup(new MemoryReplayGuard(), 1);
    const body = interaction("U0ALICE");
    const response = await send(url, body);
    expect(response.status).toBe(200);
    expect(decisionsOf(h)).toMatchObject([
      { user: "alice", decision: "Approve", via: "slack", comment: "Slack user U0ALICE (u0alice)" },
    ]);
    expect(await ephemeralFor(body)).toMatch(
      /You \(alice\) approved prod\/deployment-web-3f2a9c1b0d: it is now Approved/,
    );
    expect(h.evidence.records.at(-1)).toMatchObject({ actor: "alice", data: { via: "slack" } });
  });

  it("a Reject click rejects", async () => {
    const { h, url } = await setup();
    expect((await send(url, interaction("U0CAROL", "aegis_reject"))).status).toBe(200);
    expect(decisionsOf(h)).toMatchObject([{ user: "carol", decision: "Reject", via: "slack" }]);
  });

  it("a bad signature, a stale timestamp or a missing header changes nothing and is answered 401", async () => {
    const { h, url } = await setup();
    const body = interaction("U0ALICE");
    const bad = await send(url, body, {
      signature: slackSignature("not-the-secret", String(Math.floor(Date.now() / 1000)), body),
    });
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({
      error: "BadSignature",
      message: expect.stringMatching(/does not match/) as unknown,
    });
    const staleAt = Math.floor(Date.now() / 1000) - 6 * 60;
    const stale = await send(url, body, {
      timestamp: staleAt,
      signature: slackSignature(SECRET, String(staleAt), body),
    });
    expect(stale.status).toBe(401);
    expect(await stale.json()).toMatchObject({
      message: expect.stringMatching(/refusing a possible replay/) as unknown,
    });
    const tampered = await send(url, body.replace("aegis_approve", "aegis_reject"), {
      signature: slackSignature(SECRET, String(Math.floor(Date.now() / 1000)), body),
    });
    expect(tampered.status).toBe(401);
    const unsigned = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body,
    });
    expect(unsigned.status).toBe(401);
    expect(decisionsOf(h)).toEqual([]);
  });

  it("a replayed interaction changes nothing and is answered 409", async () => {
    const { h, url } = await setup();
    const body = interaction("U0ALICE");
    const timestamp = Math.floor(Date.now() / 1000);
    expect((await send(url, body, { timestamp })).status).toBe(200);
    expect(decisionsOf(h)).toHaveLength(1);
    const replay = await send(url, body, { timestamp });
    expect(replay.status).toBe(409);
    expect(await replay.json()).toMatchObject({ error: "Replay" });
    expect(decisionsOf(h)).toHaveLength(1);
  });

  it("answers an unmapped Slack user, and a mapped user without RBAC, with an ephemeral message and no decision", async () => {
    const { h, url } = await setup();
    const unmapped = interaction("U0MALLORY");
    expect((await send(url, unmapped)).status).toBe(200);
    expect(await ephemeralFor(unmapped)).toMatch(/U0MALLORY is not mapped .* aegis-slack-users/);
    const bob = interaction("U0BOB");
    expect((await send(url, bob)).status).toBe(200);
    expect(await ephemeralFor(bob)).toMatch(/did not record your decision: bob may not approve/);
    expect(decisionsOf(h)).toEqual([]);
  });

  it("refuses a malformed payload with 400", async () => {
    const { url } = await setup();
    expect((await send(url, "payload=not-json")).status).toBe(400);
    expect((await send(url, "nothing=here")).status).toBe(400);
  });
});

describe("Redis replay guard", () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await redis.quit();
  });

  it("lets the first replica that sees an id through and refuses it everywhere after, with a TTL", async () => {
    const prefix = `aegis:test:${randomBytes(4).toString("hex")}:`;
    const one = new RedisReplayGuard(redis, prefix);
    const other = redis.duplicate();
    const two = new RedisReplayGuard(other, prefix);
    expect(await one.firstSeen("slack:trigger:1", 600)).toBe(true);
    expect(await two.firstSeen("slack:trigger:1", 600)).toBe(false);
    expect(await one.firstSeen("slack:trigger:2", 600)).toBe(true);
    const ttl = await redis.ttl(`${prefix}slack:trigger:1`);
    expect(ttl).toBeGreaterThan(590);
    expect(ttl).toBeLessThanOrEqual(600);
    await other.quit();
  });

  it("refuses a replay across two API replicas sharing Redis", async () => {
    const guard = new RedisReplayGuard(redis, `aegis:test:${randomBytes(4).toString("hex")}:`);
    const first = await setup(guard);
    const body = interaction("U0ALICE");
    const timestamp = Math.floor(Date.now() / 1000);
    expect((await send(first.url, body, { timestamp })).status).toBe(200);
    await close?.();
    const second = await setup(guard);
    expect((await send(second.url, body, { timestamp })).status).toBe(409);
    expect(decisionsOf(second.h)).toEqual([]);
  });

  it("fails closed (503) when Redis cannot answer", async () => {
    const broken = new Redis("redis://127.0.0.1:1", {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    broken.on("error", () => undefined);
    const { h, url } = await setup(new RedisReplayGuard(broken));
    const response = await send(url, interaction("U0ALICE"));
    expect(response.status).toBe(503);
    expect(decisionsOf(h)).toEqual([]);
    broken.disconnect();
  });
});
