import { describe, expect, it } from "vitest";
import type { Decision } from "../../../src/api/v1alpha1/index.js";
import { computeApprovalState, decisionUpdateProblems, type DecisionUpdate } from "../../../src/approval/index.js";
import { AEGIS, createdAt, now, settings, spec } from "./fixtures.js";

const decision = (
  user: string,
  kind: Decision["decision"] = "Approve",
  via: Decision["via"] = "kubectl",
): Decision => ({
  user,
  decision: kind,
  comment: "",
  at: now.toISOString(),
  via,
});

function update(overrides: Partial<DecisionUpdate> & Pick<DecisionUpdate, "newSpec" | "caller">): DecisionUpdate {
  return { oldSpec: spec(), createdAt, aegisUsername: AEGIS, policies: { settings: [settings()] }, now, ...overrides };
}

describe("decisionUpdateProblems", () => {
  it("lets an approver in an allowed group append their own decision", () => {
    const problems = decisionUpdateProblems(
      update({ newSpec: spec([decision("alice")]), caller: { username: "alice", groups: ["sre-leads"] } }),
    );
    expect(problems).toEqual([]);
  });

  it("refuses the requester, and a user outside the approvers", () => {
    const asRequester = decisionUpdateProblems(
      update({ newSpec: spec([decision("dev")]), caller: { username: "dev", groups: ["sre-leads"] } }),
    );
    expect(asRequester.join()).toMatch(/requested this change/);
    const outsider = decisionUpdateProblems(
      update({ newSpec: spec([decision("bob")]), caller: { username: "bob", groups: ["developers"] } }),
    );
    expect(outsider.join()).toMatch(/bob is not an approver of policy prod-gate/);
  });

  it("refuses an entry naming another user, whatever the body claims", () => {
    const problems = decisionUpdateProblems(
      update({ newSpec: spec([decision("carol")]), caller: { username: "alice", groups: ["sre-leads"] } }),
    );
    expect(problems.join()).toMatch(/names user carol but the caller is alice/);
  });

  it("refuses edits of existing decisions, removals, two entries at once and other spec changes", () => {
    const alice = { username: "alice", groups: ["sre-leads"] };
    const oldSpec = spec([decision("erin", "Approve")]);
    const policies = { settings: [settings({ minApprovals: 2 })] };
    expect(
      decisionUpdateProblems(
        update({ oldSpec, policies, newSpec: spec([decision("erin", "Reject")]), caller: alice }),
      ).join(),
    ).toMatch(/may not be changed/);
    expect(decisionUpdateProblems(update({ oldSpec, policies, newSpec: spec([]), caller: alice })).join()).toMatch(
      /only grow by one/,
    );
    expect(
      decisionUpdateProblems(update({ newSpec: spec([decision("alice"), decision("alice")]), caller: alice })).join(),
    ).toMatch(/only grow by one/);
    expect(
      decisionUpdateProblems(update({ newSpec: { ...spec(), summary: "changed" }, caller: alice })).join(),
    ).toMatch(/only spec.decisions/);
  });

  it("refuses a decision on a decided or expired request", () => {
    const alice = { username: "alice", groups: ["sre-leads"] };
    const decided = decisionUpdateProblems(
      update({
        oldSpec: spec([decision("erin")]),
        newSpec: spec([decision("erin"), decision("alice")]),
        caller: alice,
      }),
    );
    expect(decided.join()).toMatch(/Approved and takes no more decisions/);
    const expired = decisionUpdateProblems(
      update({
        newSpec: spec([decision("alice")]),
        caller: alice,
        policies: { settings: [settings({ expiresAfter: "5s" })] },
      }),
    );
    expect(expired.join()).toMatch(/Expired/);
  });

  it("reserves api/slack/web for AEGIS acting for a user, who still may not be the requester", () => {
    const alice = { username: "alice", groups: ["sre-leads"] };
    expect(
      decisionUpdateProblems(update({ newSpec: spec([decision("alice", "Approve", "slack")]), caller: alice })).join(),
    ).toMatch(/reserved for AEGIS/);
    const aegis = { username: AEGIS, groups: ["system:serviceaccounts"] };
    expect(
      decisionUpdateProblems(update({ newSpec: spec([decision("alice", "Approve", "api")]), caller: aegis })),
    ).toEqual([]);
    expect(
      decisionUpdateProblems(update({ newSpec: spec([decision("dev", "Approve", "api")]), caller: aegis })).join(),
    ).toMatch(/may not approve/);
    expect(
      decisionUpdateProblems(
        update({ newSpec: spec([decision("alice", "Approve", "kubectl")]), caller: aegis }),
      ).join(),
    ).toMatch(/names user alice but the caller is/);
  });

  it("refuses a second approval by the same user and a decision dated far from now", () => {
    const alice = { username: "alice", groups: ["sre-leads"] };
    const policies = { settings: [settings({ minApprovals: 2 })] };
    const again = decisionUpdateProblems(
      update({
        policies,
        oldSpec: spec([decision("alice")]),
        newSpec: spec([decision("alice"), decision("alice")]),
        caller: alice,
      }),
    );
    expect(again.join()).toMatch(/already approved/);
    const stale = { ...decision("alice"), at: "2020-01-01T00:00:00Z" };
    expect(decisionUpdateProblems(update({ newSpec: spec([stale]), caller: alice })).join()).toMatch(/5 minutes/);
  });
});

describe("computeApprovalState", () => {
  const policies = { settings: [settings({ minApprovals: 2 })] };
  it("needs distinct approvers up to the strictest minApprovals", () => {
    expect(computeApprovalState(spec([decision("a"), decision("a")]), createdAt, policies, now).phase).toBe("Pending");
    const approved = computeApprovalState(spec([decision("a"), decision("b")]), createdAt, policies, now);
    expect(approved).toMatchObject({ phase: "Approved", approvals: 2, requiredApprovals: 2 });
  });
  it("rejects on one Reject and expires after expiresAfter", () => {
    expect(computeApprovalState(spec([decision("a"), decision("b", "Reject")]), createdAt, policies, now).phase).toBe(
      "Rejected",
    );
    const later = new Date(createdAt.getTime() + 25 * 3_600_000);
    expect(computeApprovalState(spec([decision("a")]), createdAt, policies, later).phase).toBe("Expired");
  });
  it("adds lockdown approvals on top", () => {
    expect(
      computeApprovalState(spec([decision("a"), decision("b")]), createdAt, { ...policies, extraApprovals: 1 }, now)
        .phase,
    ).toBe("Pending");
  });
});
