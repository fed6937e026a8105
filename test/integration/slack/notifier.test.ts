// The notifier against local Slack and GitHub servers, through the real WebClient and Octokit:
// a Pending request is posted once with buttons and gets a pending commit status; the decision
// updates the same message (channel + ts) and turns the status success/failure; only the
// leader notifies, and what was sent is remembered in the request's annotation.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { ApprovalRequest } from "../../../src/api/v1alpha1/index.js";
import { OctokitCommitStatuses } from "../../../src/adapters/github/commit-status.js";
import { GIT_COMMIT_ANNOTATION, GIT_REPOSITORY_ANNOTATION } from "../../../src/api/git-reference.js";
import { SlackNotificationChannel, WebApiSlackChat } from "../../../src/adapters/slack/chat.js";
import type { NotificationMarksWriter } from "../../../src/ports/notify.js";
import {
  NOTIFICATIONS_ANNOTATION,
  readMarks,
  writeMarks,
  type NotificationMarks,
} from "../../../src/api/notification-marks.js";
import { createNotifier, type Notifier } from "../../../src/notify/notifier.js";
import { startFakeGitHub, type FakeGitHub } from "../github/fake-github.js";
import { MemoryApprovalRequests, MemoryPolicySource } from "../../fakes/memory-ports.js";
import { aegisPolicy, approvalRequest, DEFAULT_POLICY_SPEC, silentLogger } from "../http/harness.js";
import { startFakeSlack, type FakeSlack } from "./fake-slack.js";

const SHA = "0123456789abcdef0123456789abcdef01234567";
const NAME = "deployment-web-3f2a9c1b0d";
let slack: FakeSlack;
let github: FakeGitHub;
let notifiers: Notifier[] = [];

beforeAll(async () => {
  slack = await startFakeSlack("xoxb-test-token");
  github = await startFakeGitHub("ghp_testtoken");
});
afterAll(async () => {
  await slack.close();
  await github.close();
});
afterEach(async () => {
  await Promise.all(notifiers.map((notifier) => notifier.stop()));
  notifiers = [];
  slack.calls.length = 0;
  github.statuses.length = 0;
});

/** Saves marks the way the API server plus the informer would: onto the cached object. */
class CacheMarks implements NotificationMarksWriter {
  saves = 0;
  constructor(private readonly approvals: MemoryApprovalRequests) {}
  save(request: ApprovalRequest, marks: NotificationMarks): Promise<void> {
    this.saves += 1;
    const current = this.approvals.get(request.metadata.name ?? "", request.metadata.namespace);
    if (current)
      this.approvals.put({
        ...current,
        metadata: {
          ...current.metadata,
          annotations: { ...current.metadata.annotations, [NOTIFICATIONS_ANNOTATION]: writeMarks(marks) },
        },
      });
    return Promise.resolve();
  }
}

interface World {
  approvals: MemoryApprovalRequests;
  policies: MemoryPolicySource;
  marks: CacheMarks;
  leader: { value: boolean };
  start(): Notifier;
}

function world(policySpec: Record<string, unknown> = DEFAULT_POLICY_SPEC): World {
  const approvals = new MemoryApprovalRequests();
  const policies = new MemoryPolicySource([aegisPolicy("prod-gate", policySpec)]);
  const marks = new CacheMarks(approvals);
  const leader = { value: true };
  const start = (): Notifier => {
    const notifier = createNotifier({
      approvals,
      policies,
      slack: new SlackNotificationChannel(
        new WebApiSlackChat({ token: "xoxb-test-token", apiUrl: slack.apiUrl, retries: 0 }),
      ),
      github: new OctokitCommitStatuses({ token: "ghp_testtoken", baseUrl: github.baseUrl }),
      marks,
      isLeader: () => leader.value,
      dashboardUrl: "https://aegis.example.com/",
      extraApprovals: () => 0,
      now: () => new Date(),
      logger: silentLogger,
      leaderPollMs: 20,
    });
    notifier.start();
    notifiers.push(notifier);
    return notifier;
  };
  return { approvals, policies, marks, leader, start };
}

const withGit = { [GIT_COMMIT_ANNOTATION]: SHA, [GIT_REPOSITORY_ANNOTATION]: "acme/web" };

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 150));

function decide(approvals: MemoryApprovalRequests, user: string, decision: "Approve" | "Reject"): void {
  const current = approvals.get(NAME, "prod");
  if (!current) throw new Error("request missing");
  approvals.put({
    ...current,
    spec: {
      ...current.spec,
      decisions: [...current.spec.decisions, { user, decision, comment: "", at: new Date().toISOString(), via: "api" }],
    },
  });
}

describe("notifier", () => {
  it("posts a Pending request once to the policy's channel with buttons, sets a pending status, remembers both", async () => {
    const w = world();
    w.approvals.put(approvalRequest(NAME, { annotations: withGit }));
    const notifier = w.start();
    await until(() => slack.calls.length === 1 && github.statuses.length === 1, "the first notifications");
    const post = slack.calls[0];
    expect(post).toMatchObject({
      method: "POST",
      path: "/api/chat.postMessage",
      authorization: "Bearer xoxb-test-token",
      body: { channel: "#deploys" },
    });
    expect(post?.contentType).toMatch(/application\/x-www-form-urlencoded|application\/json/);
    const blocks = JSON.stringify(post?.body.blocks);
    expect(blocks).toContain('"action_id":"aegis_approve"');
    expect(blocks).toContain('"action_id":"aegis_reject"');
    expect(blocks).toContain(`"value":"prod/${NAME}"`);
    expect(blocks).toContain("new-registry +20");
    expect(github.statuses[0]).toMatchObject({
      owner: "acme",
      repo: "web",
      sha: SHA,
      authorization: "token ghp_testtoken",
      body: {
        state: "pending",
        context: "aegis/approval",
        target_url: `https://aegis.example.com/#/approvals/prod/${NAME}`,
        description: expect.stringMatching(/^Waiting for 1 approval/) as unknown,
      },
    });
    await until(
      () => readMarks(w.approvals.get(NAME, "prod")?.metadata.annotations).github?.phase === "Pending",
      "marks saved",
    );
    expect(readMarks(w.approvals.get(NAME, "prod")?.metadata.annotations).slack["#deploys"]).toMatchObject({
      channel: "C0DEPLOYS",
      phase: "Pending",
    });

    for (let i = 0; i < 5; i++) notifier.enqueue(`prod/${NAME}`);
    await settle();
    expect(slack.calls).toHaveLength(1);
    expect(github.statuses).toHaveLength(1);
  });

  it("updates the same message and turns the status success once approved", async () => {
    const w = world();
    w.approvals.put(approvalRequest(NAME, { annotations: withGit }));
    const notifier = w.start();
    await until(() => slack.calls.length === 1 && github.statuses.length === 1, "pending notifications");
    await until(
      () => readMarks(w.approvals.get(NAME, "prod")?.metadata.annotations).slack["#deploys"] !== undefined,
      "the Slack mark",
    );
    const ts = readMarks(w.approvals.get(NAME, "prod")?.metadata.annotations).slack["#deploys"]?.ts;
    decide(w.approvals, "alice", "Approve");
    notifier.enqueue(`prod/${NAME}`);
    await until(() => slack.calls.length === 2 && github.statuses.length === 2, "decided notifications");
    expect(slack.calls[1]).toMatchObject({
      path: "/api/chat.update",
      authorization: "Bearer xoxb-test-token",
      body: { channel: "C0DEPLOYS", ts },
    });
    const blocks = JSON.stringify(slack.calls[1]?.body.blocks);
    expect(blocks).not.toContain("aegis_approve");
    expect(blocks).toContain("*Approved* by alice");
    expect(github.statuses[1]?.body).toMatchObject({ state: "success", description: "Approved by alice" });
    notifier.enqueue(`prod/${NAME}`);
    await settle();
    expect(slack.calls).toHaveLength(2);
  });

  it("turns the status failure on Reject and on expiry; an already-decided request gets no new Slack message", async () => {
    const w = world({ ...DEFAULT_POLICY_SPEC, approval: { ...DEFAULT_POLICY_SPEC.approval, expiresAfter: "1s" } });
    w.approvals.put(approvalRequest(NAME, { annotations: withGit, createdAt: new Date(Date.now() - 5_000) }));
    w.approvals.put(
      approvalRequest("deployment-api-0123456789", {
        annotations: { ...withGit, [GIT_COMMIT_ANNOTATION]: SHA.replace(/^0/, "f") },
      }),
    );
    w.start();
    await until(() => github.statuses.length === 2, "two statuses");
    expect(github.statuses.find((s) => s.sha === SHA)?.body).toMatchObject({
      state: "failure",
      description: "Approval expired with 0/1 approvals",
    });
    expect(slack.calls.map((call) => call.path)).toEqual(["/api/chat.postMessage"]);
    const api = w.approvals.get("deployment-api-0123456789", "prod");
    if (!api) throw new Error("missing");
    w.approvals.put({
      ...api,
      spec: {
        ...api.spec,
        decisions: [{ user: "carol", decision: "Reject", comment: "", at: new Date().toISOString(), via: "slack" }],
      },
    });
    notifiers[0]?.enqueue("prod/deployment-api-0123456789");
    await until(() => github.statuses.length === 3, "the failure status");
    expect(github.statuses[2]?.body).toMatchObject({ state: "failure", description: "Rejected by carol" });
  });

  it("sends nothing while not leading; a new leader picks up every request, and a restarted one does not repeat", async () => {
    const w = world();
    w.leader.value = false;
    w.approvals.put(approvalRequest(NAME, { annotations: withGit }));
    const first = w.start();
    first.enqueue(`prod/${NAME}`);
    await settle();
    expect(slack.calls).toHaveLength(0);
    w.leader.value = true;
    await until(() => slack.calls.length === 1 && github.statuses.length === 1, "the new leader's notifications");
    await first.stop();
    const restarted = w.start();
    restarted.enqueue(`prod/${NAME}`);
    await settle();
    expect(slack.calls).toHaveLength(1);
    expect(github.statuses).toHaveLength(1);
  });

  it("retries a failed Slack call and still posts only once; skips GitHub when the change names no commit", async () => {
    const w = world();
    slack.failNext("ratelimited");
    w.approvals.put(approvalRequest(NAME));
    w.start();
    await until(
      () => slack.calls.filter((call) => call.path === "/api/chat.postMessage").length === 2,
      "the retried post",
    );
    await settle();
    expect(slack.calls).toHaveLength(2);
    expect(github.statuses).toHaveLength(0);
    expect(Object.keys(readMarks(w.approvals.get(NAME, "prod")?.metadata.annotations).slack)).toEqual(["#deploys"]);
  });
});
