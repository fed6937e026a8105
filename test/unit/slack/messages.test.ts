import { describe, expect, it } from "vitest";
import { decidedMessage, escapeMrkdwn, pendingMessage } from "../../../src/adapters/slack/messages.js";
import { requestPageUrl, type ApprovalView } from "../../../src/api/approval-view.js";

const view: ApprovalView = {
  namespace: "prod",
  name: "deployment-web-3f2a9c1b0d",
  phase: "Pending",
  approvals: 0,
  requiredApprovals: 1,
  expiresAt: "2026-11-27T12:00:00.000Z",
  decidedAt: null,
  createdAt: "2026-11-26T12:00:00.000Z",
  approvers: [],
  quorum: [],
  missing: ["1 more from any approver"],
  breakGlass: null,
  reviewDueAt: null,
  reviewOverdue: false,
  target: { apiVersion: "apps/v1", kind: "Deployment", namespace: "prod", name: "web" },
  changeHash: `sha256:${"ab".repeat(32)}`,
  summary: "image <a> & b",
  reason: "",
  policies: ["prod-gate"],
  requester: { username: "dev", groups: [] },
  risk: { score: 42, factors: [{ name: "new-registry", points: 20, detail: "quay.io" }] },
  decisions: [],
};

describe("Slack messages", () => {
  it("offers Approve and Reject buttons whose value names the request, and a dashboard link when known", () => {
    const message = pendingMessage(view, "https://aegis.example.com/");
    const json = JSON.stringify(message.blocks);
    expect(json).toContain('"action_id":"aegis_approve","style":"primary"');
    expect(json).toContain('"action_id":"aegis_reject","style":"danger"');
    expect(json.match(/"value":"prod\/deployment-web-3f2a9c1b0d"/g)).toHaveLength(2);
    expect(json).toContain('"url":"https://aegis.example.com/#/approvals/prod/deployment-web-3f2a9c1b0d"');
    expect(json).toContain("image &lt;a&gt; &amp; b");
    expect(message.text).toContain("Deployment prod/web");
    expect(JSON.stringify(pendingMessage(view).blocks)).not.toContain("aegis_open");
  });

  it("replaces the buttons with the outcome once decided", () => {
    const decided = decidedMessage({
      ...view,
      phase: "Rejected",
      decisions: [
        { user: "bob", decision: "Reject", comment: "not now", at: "2026-11-26T12:01:00.000Z", via: "slack" },
      ],
    });
    const json = JSON.stringify(decided.blocks);
    expect(json).not.toContain("aegis_approve");
    expect(json).toContain("*Rejected* by bob (Reject via slack: “not now”)");
    expect(decided.text).toMatch(/^Rejected: /);
  });

  it("escapes mrkdwn control characters and builds encoded links", () => {
    expect(escapeMrkdwn("<@U1> & <!channel>")).toBe("&lt;@U1&gt; &amp; &lt;!channel&gt;");
    expect(requestPageUrl("https://x.example/aegis//", { namespace: "a b", name: "c" })).toBe(
      "https://x.example/aegis/#/approvals/a%20b/c",
    );
    expect(requestPageUrl(undefined, view)).toBeUndefined();
  });
});
