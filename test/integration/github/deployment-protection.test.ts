// GitHub custom deployment protection rules end to end over HTTP: signed deployment_protection_rule
// deliveries into the REST API (createApiApp, in-memory ports), the answer through the real
// Octokit client to a local GitHub (fake-github.ts) that checks token, path, content type and body.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { OctokitDeploymentReviews } from "../../../src/adapters/github/deployment-reviews.js";
import { MemoryReplayGuard } from "../../../src/adapters/slack/replay-guard.js";
import { GIT_COMMIT_ANNOTATION, GIT_REPOSITORY_ANNOTATION } from "../../../src/api/git-reference.js";
import {
  DeploymentGate,
  githubSignature,
  GITHUB_ENVIRONMENT_LABEL,
  type GitHubWebhookSettings,
} from "../../../src/http/github-webhook.js";
import { approvalRequest, harness, listen, silentLogger, type Harness } from "../http/harness.js";
import {
  decide,
  decision,
  deploymentRequested,
  OTHER_SHA,
  request,
  SECRET,
  send,
  SHA,
  TOKEN,
  until,
} from "./deliveries.js";
import { startFakeGitHub, type FakeGitHub } from "./fake-github.js";

let github: FakeGitHub;
let attacker: FakeGitHub;
let close: (() => Promise<void>) | undefined;
let gate: DeploymentGate | undefined;

beforeAll(async () => {
  github = await startFakeGitHub(TOKEN);
  attacker = await startFakeGitHub(TOKEN);
});
afterAll(async () => {
  await github.close();
  await attacker.close();
});
afterEach(async () => {
  gate?.stop();
  gate = undefined;
  await close?.();
  close = undefined;
  github.reviews.length = 0;
  github.requests.length = 0;
  attacker.requests.length = 0;
});

interface Setup {
  h: Harness;
  gate: DeploymentGate;
  base: string;
}

async function setup(labels: Record<string, Record<string, string>> = {}, sweepMs = 50): Promise<Setup> {
  const h = harness();
  const deployments = new DeploymentGate({
    approvals: h.approvals,
    policies: h.policies,
    namespaceLabels: (namespace) => ({ "kubernetes.io/metadata.name": namespace, ...labels[namespace] }),
    extraApprovals: () => 0,
    now: () => new Date(),
    logger: silentLogger,
    reviews: new OctokitDeploymentReviews({ token: TOKEN, baseUrl: github.baseUrl }),
    replay: new MemoryReplayGuard(),
    sweepMs,
  });
  const settings: GitHubWebhookSettings = { webhookSecret: SECRET, deployments };
  h.deps.github = settings;
  const running = await listen(h.deps);
  close = running.close;
  gate = deployments;
  return { h, gate: deployments, base: running.url };
}

const reviewCalls = (): number =>
  github.requests.filter((seen) => seen.url.includes("/deployment_protection_rule")).length;

describe("deployment protection rules", () => {
  it("answers approved for an Approved request of that commit in the environment's namespace", async () => {
    const { h, base } = await setup();
    const stored = h.approvals.put(request("deployment-web-0123456789", "production"));
    await decide(h, stored, decision("alice", "Approve", "ship it"));
    const { runId, payload } = deploymentRequested(github);

    const response = await send(base, payload);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      ok: true,
      handled: true,
      state: "approved",
      answered: true,
      requests: ["production/deployment-web-0123456789"],
    });
    expect(github.reviews).toHaveLength(1);
    const [call] = github.reviews;
    expect(call).toMatchObject({ owner: "acme", repo: "web", runId, authorization: `token ${TOKEN}` });
    expect(call?.contentType).toMatch(/^application\/json/);
    expect(call?.body).toMatchObject({ environment_name: "production", state: "approved" });
    expect(call?.body.comment).toContain("Approved by alice");
    expect(call?.body.comment).toContain("production/deployment-web-0123456789");
  });

  it("answers rejected for a Rejected request, with the rejection's comment, and for an Expired one", async () => {
    const { h, base } = await setup();
    const stored = h.approvals.put(request("deployment-web-0123456789", "production"));
    await decide(h, stored, decision("alice", "Reject", "not during the freeze"));
    const first = deploymentRequested(github);
    const response = await send(base, first.payload);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ state: "rejected", answered: true });
    expect(github.reviews[0]?.body).toMatchObject({ environment_name: "production", state: "rejected" });
    expect(github.reviews[0]?.body.comment).toContain("Rejected by alice: not during the freeze");

    const old = approvalRequest("deployment-api-0123456789", {
      namespace: "staging",
      annotations: { [GIT_COMMIT_ANNOTATION]: OTHER_SHA },
      createdAt: new Date(Date.now() - 2 * 86_400_000),
    });
    h.approvals.put(old);
    const second = deploymentRequested(github, { environment: "staging", sha: OTHER_SHA });
    expect((await send(base, second.payload)).status).toBe(200);
    expect(github.reviews[1]).toMatchObject({
      runId: second.runId,
      body: { state: "rejected", environment_name: "staging" },
    });
    expect(github.reviews[1]?.body.comment).toContain("expired");
  });

  it("waits while the request is Pending and answers once it is approved", async () => {
    // No sweep within the test: only the hook on ApprovalRequest changes can answer.
    const { h, gate, base } = await setup({}, 60_000);
    const stored = h.approvals.put(request("deployment-web-0123456789", "production"));
    const { runId, payload } = deploymentRequested(github);

    const response = await send(base, payload);
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({
      handled: true,
      state: "waiting",
      answered: false,
      message: expect.stringContaining("production/deployment-web-0123456789 (0/1 approvals)") as unknown,
    });
    expect(reviewCalls()).toBe(0);
    expect(gate.waitingCount).toBe(1);

    await decide(h, stored, decision("alice", "Approve"));
    gate.poke(); // main.ts: caches.onChange → poke
    await until(() => github.reviews.length === 1, "the approval to reach GitHub");
    expect(github.reviews[0]).toMatchObject({ runId, body: { state: "approved", environment_name: "production" } });
    await until(() => gate.waitingCount === 0, "the deployment to be forgotten");
  });

  it("leaves a deployment with no matching request waiting, and answers when one appears in a namespace labelled for the environment", async () => {
    const { h, gate, base } = await setup({ "web-prod": { [GITHUB_ENVIRONMENT_LABEL]: "production" } });
    // Same commit, but "staging" does not serve production; another commit in production.
    h.approvals.put(request("deployment-web-0123456789", "staging"));
    h.approvals.put(request("deployment-web-1123456789", "production", { [GIT_COMMIT_ANNOTATION]: OTHER_SHA }));
    const { runId, payload } = deploymentRequested(github);

    const response = await send(base, payload);
    expect(response.status).toBe(202);
    const body = (await response.json()) as { state: string; message: string };
    expect(body.state).toBe("waiting");
    expect(body.message).toContain("no ApprovalRequest for acme/web@0123456789ab");
    expect(body.message).toContain("there are some in staging");

    // The annotation names the repository in another case; GitHub's names are case-insensitive.
    const labelled = h.approvals.put(
      request("deployment-web-2123456789", "web-prod", { [GIT_REPOSITORY_ANNOTATION]: "Acme/Web" }),
    );
    await decide(h, labelled, decision("alice", "Approve"));
    // No poke: the sweep finds it.
    await until(() => github.reviews.length === 1, "the sweep to answer");
    expect(github.reviews[0]).toMatchObject({ runId, body: { state: "approved" } });
    expect(github.reviews[0]?.body.comment).toContain("web-prod/deployment-web-2123456789");
    await until(() => gate.waitingCount === 0, "the deployment to be forgotten");
  });

  it("refuses a bad or missing signature with 401 and calls nobody", async () => {
    const { h, base } = await setup();
    const stored = h.approvals.put(request("deployment-web-0123456789", "production"));
    await decide(h, stored, decision("alice", "Approve"));
    const { payload } = deploymentRequested(github);
    const body = JSON.stringify(payload);

    const wrong = await send(base, body, { signature: githubSignature("not-the-secret", body) });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toMatchObject({ error: "BadSignature" });
    expect((await send(base, body, { signature: null })).status).toBe(401);
    expect((await send(base, `${body} `, { signature: githubSignature(SECRET, body) })).status).toBe(401);
    expect(github.requests).toHaveLength(0);
  });

  it("ignores a replayed delivery: GitHub is answered once", async () => {
    const { h, base } = await setup();
    const stored = h.approvals.put(request("deployment-web-0123456789", "production"));
    const { payload } = deploymentRequested(github);
    const delivery = "d5f3a1b0-0000-11ee-8000-000000000001";

    expect((await send(base, payload, { delivery })).status).toBe(202);
    await decide(h, stored, decision("alice", "Approve"));
    const replay = await send(base, payload, { delivery });
    expect(replay.status).toBe(200);
    expect(await replay.json()).toMatchObject({ handled: false, duplicate: true });
    expect(reviewCalls()).toBe(0); // the replay did not settle anything

    gate?.poke();
    await until(() => github.reviews.length === 1, "the one answer");
    expect((await send(base, payload, { delivery })).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(reviewCalls()).toBe(1);
  });

  it("never calls a callback URL outside the configured GitHub API base", async () => {
    const { h, base } = await setup();
    const stored = h.approvals.put(request("deployment-web-0123456789", "production"));
    await decide(h, stored, decision("alice", "Approve"));
    const githubHost = new URL(github.baseUrl).host;
    const attackerHost = new URL(attacker.baseUrl).host;
    const path = "/repos/acme/web/actions/runs/7/deployment_protection_rule";
    const urls = [
      `${attacker.baseUrl}${path}`,
      `http://${githubHost}@${attackerHost}${path}`,
      `http://localhost:${new URL(github.baseUrl).port}${path}`,
      `https://${githubHost}${path}`,
      `${github.baseUrl}${path}?redirect=${encodeURIComponent(attacker.baseUrl)}`,
      `${github.baseUrl}/repos/acme/web/statuses/${SHA}`,
      `${github.baseUrl}/repos/acme/other/actions/runs/7/deployment_protection_rule`,
      `${github.baseUrl}/repos/acme%2Fweb/x/actions/runs/7/deployment_protection_rule`,
      "/repos/acme/web/actions/runs/7/deployment_protection_rule",
    ];
    for (const url of urls) {
      const response = await send(base, deploymentRequested(github, { url }).payload);
      expect(response.status, url).toBe(400);
      const body = (await response.json()) as { error: string; message: string };
      expect(body.error, url).toBe("CallbackRefused");
      expect(body.message, url).toContain("AEGIS calls back only the configured GitHub API");
    }
    expect(attacker.requests).toHaveLength(0);
    expect(github.requests).toHaveLength(0);
  });

  it("answers 400 with the field for invalid payloads, 202 handled:false for other events", async () => {
    const { base } = await setup();
    const { payload } = deploymentRequested(github);
    const bad = async (body: unknown, field: string): Promise<void> => {
      const response = await send(base, body);
      expect(response.status).toBe(400);
      const json = (await response.json()) as { error: string; message: string };
      expect(json.error).toBe("BadPayload");
      expect(json.message).toContain(field);
    };
    await bad({ ...payload, deployment: { ...(payload.deployment as object), sha: "main" } }, "deployment.sha");
    await bad({ ...payload, deployment: undefined }, "deployment");
    await bad({ ...payload, deployment_callback_url: 7 }, "deployment_callback_url");
    await bad({ ...payload, repository: { full_name: "../../etc" } }, "repository.full_name");
    await bad({ ...payload, environment: "" }, "environment");
    await bad("{not json", "not JSON");
    const noDelivery = await fetch(`${base}/github/webhook`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-github-event": "deployment_protection_rule",
        "x-hub-signature-256": githubSignature(SECRET, JSON.stringify(payload)),
      },
      body: JSON.stringify(payload),
    });
    expect(noDelivery.status).toBe(400);
    expect(await noDelivery.json()).toMatchObject({ error: "BadDelivery" });

    const push = await send(base, { ref: "refs/heads/main" }, { event: "push" });
    expect(push.status).toBe(202);
    expect(await push.json()).toMatchObject({ ok: true, event: "push", handled: false });
    const other = await send(base, { ...payload, action: "completed" });
    expect(other.status).toBe(202);
    expect(await other.json()).toMatchObject({ handled: false });
    expect(github.requests).toHaveLength(0);
  });

  it("retries an answer GitHub failed with 502", async () => {
    const { h, gate, base } = await setup();
    const stored = h.approvals.put(request("deployment-web-0123456789", "production"));
    await decide(h, stored, decision("alice", "Approve"));
    const { runId, payload } = deploymentRequested(github);
    github.failReviews(1);

    const response = await send(base, payload);
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ state: "approved", answered: false });
    await until(() => github.reviews.length === 1, "the retry");
    expect(github.reviews[0]).toMatchObject({ runId, body: { state: "approved" } });
    expect(reviewCalls()).toBe(2);
    await until(() => gate.waitingCount === 0, "the deployment to be forgotten");
  });

  it("acknowledges the event without answering when no GitHub token is configured", async () => {
    const h = harness();
    const settings: GitHubWebhookSettings = { webhookSecret: SECRET };
    h.deps.github = settings;
    const running = await listen(h.deps);
    close = running.close;
    const response = await send(running.url, deploymentRequested(github).payload);
    expect(response.status).toBe(202);
    expect(await response.json()).toMatchObject({ handled: false });
    expect(github.requests).toHaveLength(0);
  });
});
