// POST /slack/interactions over HTTP: a correctly signed button click approves as the Kubernetes
// username the ConfigMap aegis-slack-users maps the Slack user to (via: slack), with no groups;
// the decision's evidence (written by the real ApprovalRequest webhook guard) names the version of
// the map and the entry used, and every version of the map is evidence before a decision uses it;
// an entry with groups is refused and logged. A bad signature, a stale timestamp or a replay
// changes nothing and is answered with an error; replay protection shared through real Redis.
// The map is read with the real client-node client from a local stand-in of the API server.
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Identity } from "../../../src/api/identity.js";
import type { ApprovalRequest, Decision } from "../../../src/api/v1alpha1/index.js";
import { KubeSlackIdentityMap } from "../../../src/adapters/slack/identity-map.js";
import { MemoryReplayGuard, RedisReplayGuard } from "../../../src/adapters/slack/replay-guard.js";
import type { EvidenceRecorder } from "../../../src/ports/evidence.js";
import { slackEntryHash, slackMappingHash, type ReplayGuard } from "../../../src/ports/notify.js";
import { slackSignature } from "../../../src/http/slack-signature.js";
import { admitApprovalRequest } from "../../../src/webhook/approval-guard.js";
import { TableAuth } from "../../fakes/memory-ports.js";
import { aegisPolicy, approvalRequest, DEFAULT_POLICY_SPEC, harness, listen, type Harness } from "../http/harness.js";
import { startFakeKubeApi, type FakeKubeApi } from "./fake-kube-api.js";
import { startFakeSlack, type FakeSlack } from "./fake-slack.js";

const SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const REQUEST = "deployment-web-3f2a9c1b0d";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const AEGIS = "system:serviceaccount:aegis-system:aegis-sa";
const AEGIS_NAMESPACE = "aegis-system";
const MAP = "aegis-slack-users";
const MAP_SUBJECT = `ConfigMap/${AEGIS_NAMESPACE}/${MAP}`;
const USERS = { U0ALICE: "alice", U0BOB: "bob", U0CAROL: "carol" };

let slack: FakeSlack;
let kube: FakeKubeApi;
let close: (() => Promise<void>) | undefined;

beforeAll(async () => {
  slack = await startFakeSlack();
  kube = await startFakeKubeApi();
});
afterAll(async () => {
  await slack.close();
  await kube.close();
});
afterEach(async () => {
  await close?.();
  close = undefined;
  kube.deleteConfigMap(AEGIS_NAMESPACE, MAP);
});

/**
 * SubjectAccessReview as RBAC answers it: bindings to users and to groups; every identity asked
 * about is kept, so a test sees the groups AEGIS asked with.
 */
class Rbac extends TableAuth {
  readonly asked: Identity[] = [];
  readonly approverGroups = new Set<string>();

  override canApprove(identity: Identity): Promise<boolean> {
    this.asked.push(identity);
    return Promise.resolve(
      this.approvers.has(identity.username) || identity.groups.some((group) => this.approverGroups.has(group)),
    );
  }
}

interface LogLine {
  level: string;
  fields: Record<string, unknown>;
  message: string;
}

function capturingLogger(lines: LogLine[]): Harness["deps"]["logger"] {
  const at = (level: string) => (fields: Record<string, unknown>, message: string) =>
    void lines.push({ level, fields, message });
  return { info: at("info"), warn: at("warn"), error: at("error") };
}

/**
 * The write path as in a cluster: AEGIS's service account appends the decision, the API server
 * calls the ApprovalRequest webhook guard (which writes the approval.decision evidence), then stores it.
 */
async function throughWebhook(h: Harness, request: ApprovalRequest, decision: Decision): Promise<void> {
  const updated = { ...request, spec: { ...request.spec, decisions: [...request.spec.decisions, decision] } };
  const response = await admitApprovalRequest(
    {
      uid: randomBytes(8).toString("hex"),
      kind: { group: "aegis.valina.ai", version: "v1alpha1", kind: "ApprovalRequest" },
      resource: { group: "aegis.valina.ai", version: "v1alpha1", resource: "approvalrequests" },
      name: request.metadata.name ?? "",
      namespace: request.metadata.namespace ?? "",
      operation: "UPDATE",
      userInfo: { username: AEGIS, groups: ["system:serviceaccounts", "system:authenticated"] },
      object: updated,
      oldObject: request,
      dryRun: false,
    },
    {
      policies: h.policies,
      evidence: h.evidence,
      now: () => new Date(),
      aegisUsername: AEGIS,
      extraApprovals: () => 0,
    },
  );
  if (!response.allowed) throw new Error(`admission webhook denied the request: ${response.status?.message ?? ""}`);
  await h.approvals.appendDecision(request, decision);
}

interface Setup {
  h: Harness;
  url: string;
  rbac: Rbac;
  logs: LogLine[];
  /** The resourceVersion of aegis-slack-users as set up. */
  version: string;
}

async function setup(
  options: {
    replay?: ReplayGuard;
    minApprovals?: number;
    users?: Record<string, string>;
    approvers?: { users: string[]; groups: string[] };
    mapEvidence?: (h: Harness) => EvidenceRecorder;
  } = {},
): Promise<Setup> {
  const version = kube.writeConfigMap(AEGIS_NAMESPACE, MAP, options.users ?? USERS);
  const logs: LogLine[] = [];
  const logger = capturingLogger(logs);
  const rbac = new Rbac();
  const h: Harness = harness({
    auth: rbac,
    logger,
    appendDecision: (request, decision) => throughWebhook(h, request, decision),
  });
  const identities = new KubeSlackIdentityMap(kube.kubeConfig, {
    namespace: AEGIS_NAMESPACE,
    evidence: options.mapEvidence?.(h) ?? h.evidence,
    actor: AEGIS,
    logger,
    cacheMs: 0,
  });
  h.deps.slack = {
    signingSecret: SECRET,
    identities,
    replay: options.replay ?? new MemoryReplayGuard(),
    responseUrlPrefix: slack.responseUrl(""),
  };
  h.policies.add(
    aegisPolicy("prod-gate", {
      ...DEFAULT_POLICY_SPEC,
      approval: {
        ...DEFAULT_POLICY_SPEC.approval,
        minApprovals: options.minApprovals ?? 2,
        approvers: options.approvers ?? { users: ["alice", "carol"], groups: [] },
      },
    }),
  );
  rbac.approvers.add("alice");
  rbac.approvers.add("carol");
  h.approvals.put(approvalRequest(REQUEST));
  const running = await listen(h.deps);
  close = running.close;
  return { h, url: `${running.url}/slack/interactions`, rbac, logs, version };
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
const recordsOf = (h: Harness, type: string) => h.evidence.records.filter((record) => record.type === type);
const mapRecordsOf = (h: Harness) => h.evidence.records.filter((record) => record.subject === MAP_SUBJECT);

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
    const { h, url } = await setup({ minApprovals: 1 });
    const body = interaction("U0ALICE");
    const response = await send(url, body);
    expect(response.status).toBe(200);
    expect(decisionsOf(h)).toMatchObject([
      {
        user: "alice",
        decision: "Approve",
        via: "slack",
        comment: expect.stringMatching(/^Slack user U0ALICE \(u0alice\), mapped to alice by ConfigMap/) as unknown,
      },
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

describe("Slack users act as a Kubernetes username only, from a map whose every version is evidence", () => {
  it("a mapped user's decision is reviewed with groups [] and its evidence names the map's version and entry", async () => {
    const { h, url, rbac, version } = await setup({ minApprovals: 1 });
    const uid = kube.uidOf(AEGIS_NAMESPACE, MAP);
    expect((await send(url, interaction("U0ALICE"))).status).toBe(200);
    expect(rbac.asked).toEqual([{ username: "alice", groups: [] }]);

    const entryHash = slackEntryHash("U0ALICE", "alice");
    const comment = `Slack user U0ALICE (u0alice), mapped to alice by ConfigMap ${AEGIS_NAMESPACE}/${MAP} resourceVersion ${version} uid ${uid} entry ${entryHash}`;
    expect(decisionsOf(h)).toMatchObject([{ user: "alice", via: "slack", comment }]);
    // The approval.decision record, as the webhook guard writes it, carries the comment.
    const [decision] = recordsOf(h, "approval.decision");
    expect(decision).toMatchObject({
      actor: "alice",
      subject: `ApprovalRequest/prod/${REQUEST}`,
      data: { user: "alice", decision: "Approve", via: "slack", caller: AEGIS, comment },
    });
    // …and the version it names was recorded before it, with the entry that hashes to entryHash.
    const [mapVersion] = mapRecordsOf(h);
    expect(mapVersion).toMatchObject({
      id: `slack-users:${uid}:${version}`,
      type: "policy.change",
      actor: AEGIS,
      data: {
        operation: "Observed",
        resourceVersion: version,
        mappingHash: slackMappingHash(USERS),
        entries: USERS,
        refused: {},
        managers: [{ manager: "kubectl-edit", operation: "Update", time: expect.stringMatching(/Z$/) as unknown }],
      },
    });
    expect(mapVersion?.seq).toBeLessThan(decision?.seq ?? -1);
    expect(slackEntryHash("U0ALICE", String((mapVersion?.data.entries as Record<string, string>).U0ALICE))).toBe(
      entryHash,
    );
  });

  it("an entry with groups maps nobody: refused with the reason, logged as an error, no review and no decision", async () => {
    const { h, url, rbac, logs } = await setup({ users: { ...USERS, U0DAVE: "dave;sre-leads" } });
    rbac.approverGroups.add("sre-leads");
    const body = interaction("U0DAVE");
    expect((await send(url, body)).status).toBe(200);
    expect(await ephemeralFor(body)).toBe(
      `AEGIS did not record your decision: your entry in the ConfigMap ${MAP} maps nobody: the entry "dave;sre-leads" has a ";groups" part: the map names a Kubernetes username only (write "dave"); groups come from Kubernetes, never from this ConfigMap. Ask an admin to map "U0DAVE" to a Kubernetes username only.`,
    );
    expect(decisionsOf(h)).toEqual([]);
    expect(rbac.asked).toEqual([]);
    const errors = logs.filter((line) => line.level === "error");
    expect(errors.map((line) => line.message)).toEqual([
      "Slack identity map entries refused: they map nobody (an entry names a Kubernetes username only, e.g. U123: alice)",
      "Slack identity map entry refused: no decision taken",
    ]);
    expect(errors[1]?.fields).toMatchObject({
      slackUser: "U0DAVE",
      problem: expect.stringMatching(/";groups" part/) as unknown,
      entryHash: slackEntryHash("U0DAVE", "dave;sre-leads"),
    });
    expect(mapRecordsOf(h)[0]?.data).toMatchObject({
      refused: { U0DAVE: expect.stringMatching(/";groups" part/) as unknown },
    });
  });

  it("approver rules and RBAC bound to groups cannot be met from Slack", async () => {
    // Policy approvers by group only; RBAC grants `approve` to the group too.
    const { h, url, rbac } = await setup({ approvers: { users: [], groups: ["sre-leads"] } });
    rbac.approvers.clear();
    rbac.approverGroups.add("sre-leads");
    const viaGroup = interaction("U0ALICE");
    expect((await send(url, viaGroup)).status).toBe(200);
    expect(await ephemeralFor(viaGroup)).toMatch(/did not record your decision: alice may not approve/);
    // RBAC by username, approver rule by group: still not an approver from Slack.
    rbac.approvers.add("alice");
    const viaRule = interaction("U0ALICE");
    expect((await send(url, viaRule)).status).toBe(200);
    expect(await ephemeralFor(viaRule)).toMatch(
      /alice is not an approver of policy prod-gate \(allowed: group sre-leads\) \(a decision from Slack carries your username only, never groups/,
    );
    expect(rbac.asked.every((identity) => identity.groups.length === 0)).toBe(true);
    expect(decisionsOf(h)).toEqual([]);
  });

  it("each change of the map is evidence, with what changed, before a decision uses the new version", async () => {
    const { h, url, version } = await setup();
    const uid = kube.uidOf(AEGIS_NAMESPACE, MAP);
    expect((await send(url, interaction("U0ALICE"))).status).toBe(200);
    const changed = { U0ALICE: "alice", U0BOB: "carol", U0DAVE: "dave" };
    const next = kube.writeConfigMap(AEGIS_NAMESPACE, MAP, changed, "kubectl-patch");
    expect((await send(url, interaction("U0BOB"))).status).toBe(200);
    expect(decisionsOf(h)).toMatchObject([
      { user: "alice", comment: expect.stringContaining(`resourceVersion ${version} `) as unknown },
      {
        user: "carol",
        comment: expect.stringContaining(
          `resourceVersion ${next} uid ${uid} entry ${slackEntryHash("U0BOB", "carol")}`,
        ) as unknown,
      },
    ]);
    expect(mapRecordsOf(h).map((record) => record.id)).toEqual([
      `slack-users:${uid}:${version}`,
      `slack-users:${uid}:${next}`,
    ]);
    expect(mapRecordsOf(h)[1]?.data).toMatchObject({
      since: { resourceVersion: version, mappingHash: slackMappingHash(USERS) },
      added: { U0DAVE: "dave" },
      removed: { U0CAROL: "carol" },
      changed: { U0BOB: { from: "bob", to: "carol" } },
      managers: [{ manager: "kubectl-patch" }],
    });
    const [, carolDecision] = recordsOf(h, "approval.decision");
    expect(mapRecordsOf(h)[1]?.seq).toBeLessThan(carolDecision?.seq ?? -1);

    kube.deleteConfigMap(AEGIS_NAMESPACE, MAP);
    const afterDelete = interaction("U0ALICE");
    expect((await send(url, afterDelete)).status).toBe(200);
    expect(await ephemeralFor(afterDelete)).toMatch(/U0ALICE is not mapped/);
    expect(mapRecordsOf(h).at(-1)).toMatchObject({
      id: `slack-users:${uid}:deleted`,
      data: { deleted: true, removed: changed },
    });
  });

  it("no decision is taken with a version of the map that could not be recorded", async () => {
    const { h, url } = await setup({
      mapEvidence: () => ({ record: () => Promise.reject(new Error("evidence could not be made durable")) }),
    });
    const body = interaction("U0ALICE");
    expect((await send(url, body)).status).toBe(200);
    expect(await ephemeralFor(body)).toMatch(
      /could not resolve your Slack user, so it did not record your decision: evidence could not be made durable/,
    );
    expect(decisionsOf(h)).toEqual([]);
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
    const first = await setup({ replay: guard });
    const body = interaction("U0ALICE");
    const timestamp = Math.floor(Date.now() / 1000);
    expect((await send(first.url, body, { timestamp })).status).toBe(200);
    await close?.();
    const second = await setup({ replay: guard });
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
    const { h, url } = await setup({ replay: new RedisReplayGuard(broken) });
    const response = await send(url, interaction("U0ALICE"));
    expect(response.status).toBe(503);
    expect(decisionsOf(h)).toEqual([]);
    broken.disconnect();
  });
});
