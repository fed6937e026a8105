// Quorum by group and revocation (DESIGN §2): pure rules, no servers.
import { describe, expect, it } from "vitest";
import type { ApprovalRequestSpec, ApprovalSettings, Decision } from "../../../src/api/v1alpha1/index.js";
import { AEGIS, createdAt, now, settings as baseSettings, spec } from "./fixtures.js";
import { aegisPolicySpecSchema } from "../../../src/api/v1alpha1/index.js";
import {
  assignQuorum,
  computeApprovalState,
  decisionUpdateProblems,
  type DecisionUpdate,
} from "../../../src/approval/index.js";

const QUORUM = [
  { group: "sre-leads", min: 1 },
  { group: "security", min: 1 },
];
/** Quorum groups only: members of sre-leads and security approve. */
const settings = (overrides: Partial<ApprovalSettings> = {}): ApprovalSettings =>
  baseSettings({ approvers: { users: [], groups: [] }, quorum: QUORUM, ...overrides });
const policies = { settings: [settings()] };

const approve = (user: string, groups: string[], via: Decision["via"] = "kubectl"): Decision => ({
  user,
  decision: "Approve",
  groups,
  comment: "",
  at: now.toISOString(),
  via,
});
const revoke = (user: string): Decision => ({
  user,
  decision: "Revoke",
  comment: "",
  at: now.toISOString(),
  via: "kubectl",
});

const state = (decisions: Decision[], at = now) => computeApprovalState(spec(decisions), createdAt, policies, at);

function update(overrides: Partial<DecisionUpdate> & Pick<DecisionUpdate, "newSpec" | "caller">): DecisionUpdate {
  return { oldSpec: spec(), createdAt, aegisUsername: AEGIS, policies, now, ...overrides };
}

describe("quorum by group", () => {
  it("stays Pending with two sre-leads and no one from security, and says what is missing", () => {
    const pending = state([approve("alice", ["sre-leads"]), approve("bob", ["sre-leads"])]);
    expect(pending).toMatchObject({ phase: "Pending", approvals: 2, requiredApprovals: 2 });
    expect(pending.missing).toEqual(["1 more from security"]);
    const approved = state([
      approve("alice", ["sre-leads"]),
      approve("bob", ["sre-leads"]),
      approve("sam", ["security"]),
    ]);
    expect(approved).toMatchObject({ phase: "Approved", missing: [] });
    expect(approved.quorum).toEqual([
      { group: "sre-leads", min: 1, counted: ["alice"] },
      { group: "security", min: 1, counted: ["sam"] },
    ]);
  });

  it("counts a person in both groups once, for whichever group completes the quorum", () => {
    // carol (both groups) first takes the sre-leads slot; when only a second sre-lead comes,
    // the matching moves carol to security so both slots are filled by two people.
    const both = state([approve("carol", ["sre-leads", "security"]), approve("alice", ["sre-leads"])]);
    expect(both.phase).toBe("Approved");
    expect(both.quorum).toEqual([
      { group: "sre-leads", min: 1, counted: ["alice"] },
      { group: "security", min: 1, counted: ["carol"] },
    ]);
    const alone = state([approve("carol", ["sre-leads", "security"])]);
    expect(alone).toMatchObject({ phase: "Pending", approvals: 1 });
    expect(alone.missing).toEqual(["1 more from security"]);
  });

  it("needs minApprovals people even when the quorum is met by fewer", () => {
    const three = { settings: [settings({ minApprovals: 3 })] };
    const met = computeApprovalState(
      spec([approve("alice", ["sre-leads"]), approve("sam", ["security"])]),
      createdAt,
      three,
      now,
    );
    expect(met).toMatchObject({ phase: "Pending", requiredApprovals: 3, missing: ["1 more from any approver"] });
  });

  it("takes the largest min per group across policies, and fills slots by maximum matching", () => {
    const standings = assignQuorum(
      new Map([
        ["a", 1],
        ["b", 1],
      ]),
      [
        { user: "x", groups: ["a", "b"] },
        { user: "y", groups: ["a"] },
      ],
    );
    expect(standings.map((s) => s.counted)).toEqual([["y"], ["x"]]);
    const strict = computeApprovalState(
      spec([approve("alice", ["sre-leads"]), approve("sam", ["security"])]),
      createdAt,
      { settings: [settings(), settings({ quorum: [{ group: "security", min: 2 }] })] },
      now,
    );
    expect(strict).toMatchObject({ phase: "Pending", requiredApprovals: 3, missing: ["1 more from security"] });
  });

  it("lets quorum groups approve, and refuses a decision claiming a group the caller is not in", () => {
    const asMember = decisionUpdateProblems(
      update({ newSpec: spec([approve("sam", ["security"])]), caller: { username: "sam", groups: ["security"] } }),
    );
    expect(asMember).toEqual([]);
    const forged = decisionUpdateProblems(
      update({
        newSpec: spec([approve("alice", ["sre-leads", "security"])]),
        caller: { username: "alice", groups: ["sre-leads", "system:authenticated"] },
      }),
    );
    expect(forged.join()).toMatch(/claims group security the caller alice is not in/);
  });

  it("trusts the groups AEGIS writes for a user it authenticated (api, slack, web), not via kubectl", () => {
    const delegated = decisionUpdateProblems(
      update({ newSpec: spec([approve("sam", ["security"], "api")]), caller: { username: AEGIS, groups: [] } }),
    );
    expect(delegated).toEqual([]);
    const aegisViaKubectl = decisionUpdateProblems(
      update({ newSpec: spec([approve("sam", ["security"])]), caller: { username: AEGIS, groups: [] } }),
    );
    expect(aegisViaKubectl.join()).toMatch(/claims group security/);
  });

  it("is refused by the policy schema when min is 0 or a group repeats", () => {
    const base = { match: { kinds: ["Deployment"] }, approval: { mode: "Always" } };
    const zero = aegisPolicySpecSchema.safeParse({ ...base, approval: { quorum: [{ group: "security", min: 0 }] } });
    expect(zero.success).toBe(false);
    const twice = aegisPolicySpecSchema.safeParse({
      ...base,
      approval: {
        quorum: [
          { group: "security", min: 1 },
          { group: "security", min: 2 },
        ],
      },
    });
    expect(twice.error?.issues.map((issue) => issue.message).join()).toMatch(
      /quorum group security appears more than once/,
    );
  });
});

describe("revocation", () => {
  const oneApprover = { settings: [settings({ quorum: [], approvers: { users: [], groups: ["sre-leads"] } })] };
  const alice = { username: "alice", groups: ["sre-leads"] };

  it("takes an Approved request back to Pending, so it no longer admits", () => {
    const decisions = [approve("alice", ["sre-leads"]), revoke("alice")];
    const after = computeApprovalState(spec(decisions), createdAt, oneApprover, now);
    expect(after).toMatchObject({ phase: "Pending", approvals: 0, approvers: [], decidedAt: null });
    const expired = computeApprovalState(spec(decisions), createdAt, oneApprover, new Date(now.getTime() + 86_400_000));
    expect(expired.phase).toBe("Expired");
  });

  it("keeps Approved when enough approvals still stand, and dates Approved from the decision that completed it", () => {
    const two = { settings: [settings({ quorum: [], approvers: { users: [], groups: ["sre-leads"] } })] };
    const later = new Date(now.getTime() + 60_000).toISOString();
    const decisions = [
      approve("alice", ["sre-leads"]),
      approve("bob", ["sre-leads"]),
      { ...revoke("alice"), at: later },
    ];
    const after = computeApprovalState(spec(decisions), createdAt, two, now);
    expect(after).toMatchObject({ phase: "Approved", approvers: ["bob"], decidedAt: now });
  });

  it("lets an approver revoke their own approval of a Pending or Approved request", () => {
    const oldSpec = spec([approve("alice", ["sre-leads"])]);
    const problems = decisionUpdateProblems(
      update({ oldSpec, policies: oneApprover, newSpec: spec([...oldSpec.decisions, revoke("alice")]), caller: alice }),
    );
    expect(problems).toEqual([]);
  });

  it("refuses revoking someone else's approval, one never given, and after a Reject", () => {
    const oldSpec = spec([approve("alice", ["sre-leads"])]);
    const forOther = decisionUpdateProblems(
      update({
        oldSpec,
        policies: oneApprover,
        newSpec: spec([...oldSpec.decisions, revoke("alice")]),
        caller: { username: "mallory", groups: ["sre-leads"] },
      }),
    );
    expect(forOther.join()).toMatch(/names user alice but the caller is mallory/);
    const never = decisionUpdateProblems(
      update({
        oldSpec,
        policies: oneApprover,
        newSpec: spec([...oldSpec.decisions, revoke("bob")]),
        caller: { username: "bob", groups: ["sre-leads"] },
      }),
    );
    expect(never.join()).toMatch(/bob has no standing approval to revoke/);
    const rejectedSpec = spec([approve("alice", ["sre-leads"]), { ...revoke("bob"), decision: "Reject" }]);
    const afterReject = decisionUpdateProblems(
      update({
        oldSpec: rejectedSpec,
        policies: {
          settings: [settings({ quorum: [], minApprovals: 2, approvers: { users: [], groups: ["sre-leads"] } })],
        },
        newSpec: spec([...rejectedSpec.decisions, revoke("alice")]),
        caller: alice,
      }),
    );
    expect(afterReject.join()).toMatch(/the request is Rejected; there is no approval left to revoke/);
  });

  it("still refuses Approve and Reject once Approved", () => {
    const oldSpec = spec([approve("alice", ["sre-leads"])]);
    const late = decisionUpdateProblems(
      update({
        oldSpec,
        policies: oneApprover,
        newSpec: spec([...oldSpec.decisions, { ...approve("bob", ["sre-leads"]), decision: "Reject" }]),
        caller: { username: "bob", groups: ["sre-leads"] },
      }),
    );
    expect(late.join()).toMatch(/the request is Approved and takes no more decisions/);
  });
});

describe("single use", () => {
  const single = {
    settings: [settings({ quorum: [], approvers: { users: [], groups: ["sre-leads"] }, singleUse: true })],
  };
  const consume = (user = AEGIS, via: Decision["via"] = "admission"): Decision => ({
    user,
    decision: "Consume",
    comment: "singleUse approval used by UPDATE uid-1 from dev",
    at: now.toISOString(),
    via,
  });

  it("ends an Approved request as Used, after which nothing more is taken, a Revoke neither", () => {
    const used = computeApprovalState(spec([approve("alice", ["sre-leads"]), consume()]), createdAt, single, now);
    expect(used).toMatchObject({ phase: "Used", usedAt: now, decidedAt: now, approvers: ["alice"] });
    const oldSpec = spec([approve("alice", ["sre-leads"]), consume()]);
    const revoked = decisionUpdateProblems(
      update({
        oldSpec,
        policies: single,
        newSpec: spec([...oldSpec.decisions, revoke("alice")]),
        caller: { username: "alice", groups: ["sre-leads"] },
      }),
    );
    expect(revoked.join()).toMatch(/the request is Used; there is no approval left to revoke/);
  });

  it("lets only AEGIS record a use, via admission, and only of an Approved request", () => {
    const approved = spec([approve("alice", ["sre-leads"])]);
    const asAegis = decisionUpdateProblems(
      update({
        oldSpec: approved,
        policies: single,
        newSpec: spec([...approved.decisions, consume()]),
        caller: { username: AEGIS, groups: [] },
      }),
    );
    expect(asAegis).toEqual([]);
    const asAlice = decisionUpdateProblems(
      update({
        oldSpec: approved,
        policies: single,
        newSpec: spec([...approved.decisions, consume("alice", "kubectl")]),
        caller: { username: "alice", groups: ["sre-leads"] },
      }),
    );
    expect(asAlice.join()).toMatch(/only AEGIS .* records that an approval was used; the caller is alice/);
    const onPending = decisionUpdateProblems(
      update({
        oldSpec: spec(),
        policies: single,
        newSpec: spec([consume()]),
        caller: { username: AEGIS, groups: [] },
      }),
    );
    expect(onPending.join()).toMatch(/the request is Pending; only an Approved one can be used/);
  });
});

describe("break-glass review", () => {
  const reviewers = { settings: [settings({ quorum: [], approvers: { users: [], groups: ["sre-leads"] } })] };
  const breakGlassSpec = (decisions: Decision[] = []): ApprovalRequestSpec => ({
    ...spec(decisions),
    breakGlass: { user: "olga", reason: "INC-42", at: createdAt.toISOString(), reviewWithin: "2h" },
  });

  it("waits in ReviewRequired, never expires, and is overdue after reviewWithin", () => {
    const fresh = computeApprovalState(breakGlassSpec(), createdAt, reviewers, now);
    expect(fresh).toMatchObject({
      phase: "ReviewRequired",
      reviewOverdue: false,
      reviewDueAt: new Date("2026-11-26T13:00:00Z"),
    });
    const late = computeApprovalState(breakGlassSpec(), createdAt, reviewers, new Date("2026-11-28T00:00:00Z"));
    expect(late).toMatchObject({ phase: "ReviewRequired", reviewOverdue: true });
  });

  it("is reviewed by the approvals the policy asks for, and a Reject says the change was wrong", () => {
    expect(
      computeApprovalState(breakGlassSpec([approve("alice", ["sre-leads"])]), createdAt, reviewers, now).phase,
    ).toBe("Approved");
    const rejected = breakGlassSpec([{ ...approve("alice", ["sre-leads"]), decision: "Reject" }]);
    expect(computeApprovalState(rejected, createdAt, reviewers, now).phase).toBe("Rejected");
    const problems = decisionUpdateProblems(
      update({
        oldSpec: breakGlassSpec(),
        policies: reviewers,
        newSpec: breakGlassSpec([approve("olga", ["sre-leads"])]),
        caller: { username: "olga", groups: ["sre-leads"] },
      }),
    );
    // olga is not the requester here (dev is), so she may review; the guard takes ReviewRequired decisions.
    expect(problems).toEqual([]);
  });
});
