// The admission guard of ConfigMap aegis-slack-users (src/webhook/slack-users-guard.ts): RBAC to
// edit ConfigMaps in AEGIS's namespace is not enough to map a Slack user to someone; the writer
// must be able to act as that username in Kubernetes (impersonate, or be it). Entries with groups
// are refused. Every admitted change is policy.change evidence naming the writer.
import { describe, expect, it } from "vitest";
import type { Identity } from "../../../src/api/identity.js";
import { slackMappingHash, type SlackMappingReviewer } from "../../../src/ports/notify.js";
import type { AdmissionRequest } from "../../../src/webhook/admission-review.js";
import { admitSlackUsersMap } from "../../../src/webhook/slack-users-guard.js";
import { MemoryEvidence } from "../../fakes/memory-ports.js";

const ADMIN = { username: "admin", groups: ["system:masters", "system:authenticated"] };
const EDITOR = { username: "eve", groups: ["aegis-system-editors", "system:authenticated"] };

/** SubjectAccessReview for impersonation from a table: writer → usernames it may act as ("*": any). */
class ImpersonationTable implements SlackMappingReviewer {
  readonly reviews: { writer: Identity; username: string }[] = [];
  constructor(private readonly grants: Record<string, readonly string[]>) {}

  mayActAs(writer: Identity, username: string): Promise<boolean> {
    this.reviews.push({ writer, username });
    const grant = this.grants[writer.username] ?? [];
    return Promise.resolve(grant.includes("*") || grant.includes(username));
  }
}

function configMap(data: Record<string, string>, resourceVersion = "41"): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "aegis-slack-users", namespace: "aegis-system", uid: "cm-uid", resourceVersion },
    data,
  };
}

function admission(overrides: Partial<AdmissionRequest>): AdmissionRequest {
  return {
    uid: "review-1",
    kind: { group: "", version: "v1", kind: "ConfigMap" },
    resource: { group: "", version: "v1", resource: "configmaps" },
    name: "aegis-slack-users",
    namespace: "aegis-system",
    operation: "UPDATE",
    userInfo: EDITOR,
    object: configMap({}),
    oldObject: configMap({}),
    dryRun: false,
    ...overrides,
  };
}

function setup(grants: Record<string, readonly string[]> = { admin: ["*"] }) {
  const evidence = new MemoryEvidence();
  const reviewer = new ImpersonationTable(grants);
  const admit = (request: Partial<AdmissionRequest>) =>
    admitSlackUsersMap(admission(request), { evidence, slackMappingReviewer: reviewer });
  return { evidence, reviewer, admit };
}

describe("the aegis-slack-users guard", () => {
  it("refuses an editor who maps a Slack user to someone they cannot impersonate, and records nothing", async () => {
    const { evidence, reviewer, admit } = setup();
    const response = await admit({ object: configMap({ U0EVE: "alice" }), oldObject: configMap({}) });
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toBe(
      "aegis: ConfigMap aegis-system/aegis-slack-users: eve may not map Slack user U0EVE to alice: that lets the Slack user act as alice, which takes permission to impersonate alice in Kubernetes (verb impersonate on users, or on serviceaccounts for a service account)",
    );
    expect(reviewer.reviews).toEqual([{ writer: EDITOR, username: "alice" }]);
    expect(evidence.records).toEqual([]);
  });

  it("admits a writer who may impersonate the username, recording the change with the writer as actor", async () => {
    const { evidence, admit } = setup();
    const before = { U1: "alice", U2: "bob" };
    const after = { U1: "alice", U2: "carol", U3: "dave" };
    const response = await admit({ userInfo: ADMIN, object: configMap(after), oldObject: configMap(before) });
    expect(response.allowed).toBe(true);
    expect(evidence.records).toMatchObject([
      {
        id: `slack-users:cm-uid:admitted:41:${slackMappingHash(after)}`,
        type: "policy.change",
        subject: "ConfigMap/aegis-system/aegis-slack-users",
        actor: "admin",
        data: {
          operation: "UPDATE",
          uid: "cm-uid",
          previousResourceVersion: "41",
          previousMappingHash: slackMappingHash(before),
          mappingHash: slackMappingHash(after),
          added: { U3: "dave" },
          removed: {},
          changed: { U2: { from: "bob", to: "carol" } },
        },
      },
    ]);
  });

  it("reviews only added and changed entries, each username once, with the writer's groups", async () => {
    const { reviewer, admit } = setup({ eve: ["carol"] });
    const response = await admit({
      object: configMap({ U1: "alice", U2: "carol", U3: "carol", U4: "eve" }),
      oldObject: configMap({ U1: "alice", U2: "bob" }),
    });
    expect(response.allowed).toBe(true);
    expect(reviewer.reviews).toEqual([{ writer: EDITOR, username: "carol" }]); // eve maps to herself: no review
  });

  it("maps a service account only for a writer who may impersonate it", async () => {
    const { reviewer, admit } = setup();
    const response = await admit({ object: configMap({ U1: "system:serviceaccount:prod:deployer" }) });
    expect(response.allowed).toBe(false);
    expect(reviewer.reviews).toEqual([{ writer: EDITOR, username: "system:serviceaccount:prod:deployer" }]);
  });

  it("refuses an added or changed entry that lists groups, even from a cluster admin", async () => {
    const { evidence, admit } = setup();
    const created = await admit({
      operation: "CREATE",
      userInfo: ADMIN,
      object: configMap({ U1: "alice;sre-leads" }),
      oldObject: null,
    });
    expect(created.allowed).toBe(false);
    expect(created.status?.message).toMatch(
      /entry U1: the entry "alice;sre-leads" has a ";groups" part: the map names a Kubernetes username only \(write "alice"\)/,
    );
    const changed = await admit({
      userInfo: ADMIN,
      object: configMap({ U1: "alice;sre-leads" }),
      oldObject: configMap({ U1: "alice" }),
    });
    expect(changed.allowed).toBe(false);
    expect(evidence.records).toEqual([]);
  });

  it("lets an entry stored before the guard stay while others change (it maps nobody until fixed)", async () => {
    const { admit } = setup();
    const response = await admit({
      userInfo: ADMIN,
      object: configMap({ U1: "alice;sre-leads", U2: "bob" }),
      oldObject: configMap({ U1: "alice;sre-leads" }),
    });
    expect(response.allowed).toBe(true);
  });

  it("admits removals and DELETE from anyone RBAC lets through, and records them", async () => {
    const { evidence, reviewer, admit } = setup();
    expect(
      (await admit({ object: configMap({ U1: "alice" }), oldObject: configMap({ U1: "alice", U2: "bob" }) })).allowed,
    ).toBe(true);
    expect(
      (await admit({ operation: "DELETE", object: null, oldObject: configMap({ U1: "alice" }, "42") })).allowed,
    ).toBe(true);
    expect(reviewer.reviews).toEqual([]);
    expect(evidence.records.map((r) => [r.actor, r.data.operation, r.data.removed, r.data.mappingHash])).toEqual([
      ["eve", "UPDATE", { U2: "bob" }, slackMappingHash({ U1: "alice" })],
      ["eve", "DELETE", { U1: "alice" }, null],
    ]);
    expect(evidence.records[1]?.id).toBe("slack-users:cm-uid:admitted:42:deleted");
  });

  it("records nothing for a dryRun, and one record for a retried review of the same change", async () => {
    const { evidence, admit } = setup();
    const change = { userInfo: ADMIN, object: configMap({ U1: "alice" }), oldObject: configMap({}) };
    await admit({ ...change, dryRun: true });
    expect(evidence.records).toEqual([]);
    await admit(change);
    await admit({ ...change, uid: "review-2" });
    expect(evidence.records).toHaveLength(1);
  });

  it("fails closed when the SubjectAccessReview fails (the API server then refuses the write)", async () => {
    const evidence = new MemoryEvidence();
    const broken: SlackMappingReviewer = { mayActAs: () => Promise.reject(new Error("SubjectAccessReview failed")) };
    await expect(
      admitSlackUsersMap(admission({ object: configMap({ U1: "alice" }) }), { evidence, slackMappingReviewer: broken }),
    ).rejects.toThrow(/SubjectAccessReview failed/);
    expect(evidence.records).toEqual([]);
  });
});
