// AegisPolicy CREATE/UPDATE/DELETE through the webhook: a policy that does not compile is refused
// with the compiler's message, and every admitted change is policy.change evidence naming the user.
import { generateSigningKey } from "../../../src/evidence/chain/signing.js";
import { describe, expect, it } from "vitest";
import type { AegisPolicy } from "../../../src/api/v1alpha1/index.js";
import { specHashOf } from "../../../src/policy/index.js";
import { reconcileAegisPolicy } from "../../../src/reconcilers/aegis-policy.js";
import type { AdmissionRequest } from "../../../src/webhook/admission-review.js";
import { createAdmissionHandler } from "../../../src/webhook/handler.js";
import { MemoryApprovalRequests, MemoryEvidence, MemoryPolicySource } from "../../fakes/memory-ports.js";

const AEGIS = "system:serviceaccount:aegis-system:aegis-sa";
const UID = "4f1c2a8e-0000-4000-8000-000000000001";

function policyObject(spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: "aegis.valina.ai/v1alpha1",
    kind: "AegisPolicy",
    metadata: { name: "prod-gate", uid: UID, generation: 1, ...metadata },
    spec,
  };
}

const goodSpec = {
  match: { kinds: ["Deployment"], namespaces: ["prod"] },
  checks: [{ name: "replicas", cel: "object.spec.replicas <= 10", message: "at most 10 replicas" }],
};
const brokenSpec = {
  match: { kinds: ["Deployment"], namespaces: ["prod"] },
  checks: [{ name: "replicas", cel: "object.spec.replicas <=" }],
};

function admission(overrides: Partial<AdmissionRequest>): AdmissionRequest {
  return {
    uid: "review-1",
    kind: { group: "aegis.valina.ai", version: "v1alpha1", kind: "AegisPolicy" },
    resource: { group: "aegis.valina.ai", version: "v1alpha1", resource: "aegispolicies" },
    name: "prod-gate",
    namespace: "",
    operation: "CREATE",
    userInfo: { username: "admin", groups: ["system:masters", "system:authenticated"] },
    object: policyObject(goodSpec),
    oldObject: null,
    dryRun: false,
    ...overrides,
  };
}

function setup() {
  const policies = new MemoryPolicySource();
  const requests = new MemoryApprovalRequests();
  const evidence = new MemoryEvidence();
  const handler = createAdmissionHandler({
    policies,
    evidencePublicKey: generateSigningKey().publicKey,
    namespaceLabels: (namespace) => ({ "kubernetes.io/metadata.name": namespace }),
    approvalRequests: requests,
    requestWriter: requests,
    slackMappingReviewer: { mayActAs: () => Promise.resolve(false) },
    evidence,
    now: () => new Date("2026-11-26T12:00:00Z"),
    aegisUsername: AEGIS,
    aegisNamespace: "aegis-system",
    extraApprovals: () => 0,
  });
  return { handler, evidence, policies };
}

/** The spec as stored: zod defaults filled in, as the cache and the reconciler hash it. */
const storedHash = (spec: Record<string, unknown>): string =>
  specHashOf(new MemoryPolicySource([policyObject(spec)]).get("prod-gate")!);

describe("the AegisPolicy guard", () => {
  it("refuses a policy whose CEL does not compile, with the field path and the CEL error, and records nothing", async () => {
    const { handler, evidence } = setup();
    const response = await handler(admission({ object: policyObject(brokenSpec) }));
    expect(response.allowed).toBe(false);
    expect(response.status?.code).toBe(403);
    expect(response.status?.message).toMatch(
      /^aegis: AegisPolicy prod-gate does not compile: spec\.checks\[0\]\.cel: syntax error: /,
    );
    expect(evidence.records).toEqual([]);
  });

  it("lists every problem the compiler finds", async () => {
    const { handler } = setup();
    const response = await handler(
      admission({
        object: policyObject({
          match: { kinds: ["Deployment"], objectSelector: { matchExpressions: [{ key: "a", operator: "In" }] } },
          checks: [
            { name: "x", cel: "nope.spec == 1" },
            { name: "x", cel: "object.spec.replicas > 1" },
          ],
        }),
      }),
    );
    expect(response.allowed).toBe(false);
    const message = response.status?.message ?? "";
    expect(message).toContain(
      "spec.match.objectSelector.matchExpressions[0].values: operator In needs at least one value",
    );
    expect(message).toContain('spec.checks[0].cel: undeclared reference to "nope"');
    expect(message).toContain('spec.checks[1].name: duplicate check name "x"');
  });

  it("refuses an object that does not match the AegisPolicy schema", async () => {
    const { handler } = setup();
    const response = await handler(admission({ object: policyObject({ match: { kinds: ["Service"] } }) }));
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toMatch(/^aegis: AegisPolicy prod-gate is malformed: spec\.match\.kinds\.0: /);
  });

  it("admits a policy that compiles and records policy.change naming the user, with the reconciler's id", async () => {
    const { handler, evidence } = setup();
    const response = await handler(admission({}));
    expect(response.allowed).toBe(true);
    const specHash = storedHash(goodSpec);
    expect(response.auditAnnotations).toEqual({ "aegis.valina.ai/policy-spec": specHash });
    expect(evidence.records).toHaveLength(1);
    expect(evidence.records[0]).toMatchObject({
      id: `policy-change:${UID}:${specHash}`,
      type: "policy.change",
      subject: "AegisPolicy/prod-gate",
      actor: "admin",
      data: { operation: "CREATE", specHash, generation: 1, uid: UID, spec: { enforcement: "Enforce" } },
    });
  });

  it("records nothing on a dry run, and still refuses a broken policy on one", async () => {
    const { handler, evidence } = setup();
    expect((await handler(admission({ dryRun: true }))).allowed).toBe(true);
    expect((await handler(admission({ dryRun: true, object: policyObject(brokenSpec) }))).allowed).toBe(false);
    expect(
      (await handler(admission({ dryRun: true, operation: "DELETE", object: null, oldObject: policyObject(goodSpec) })))
        .allowed,
    ).toBe(true);
    expect(evidence.records).toEqual([]);
  });

  it("records an UPDATE that changes the spec once, and an UPDATE that does not change it not again", async () => {
    const { handler, evidence } = setup();
    await handler(admission({}));
    const changed = { ...goodSpec, enforcement: "Audit" };
    const update = admission({
      operation: "UPDATE",
      object: policyObject(changed, { generation: 2 }),
      oldObject: policyObject(goodSpec),
      userInfo: { username: "alice", groups: ["platform"] },
    });
    expect((await handler(update)).allowed).toBe(true);
    const relabel = admission({
      operation: "UPDATE",
      object: policyObject(changed, { generation: 2, labels: { owner: "platform" } }),
      oldObject: policyObject(changed, { generation: 2 }),
      userInfo: { username: "bob", groups: [] },
    });
    expect((await handler(relabel)).allowed).toBe(true);
    expect(
      evidence.records.map((record) => [record.actor, record.data["operation"], record.data["generation"]]),
    ).toEqual([
      ["admin", "CREATE", 1],
      ["alice", "UPDATE", 2],
    ]);
    expect(evidence.records[1]?.data["specHash"]).toBe(storedHash(changed));
  });

  it("refuses an UPDATE to a spec that does not compile, but not one that leaves a stored broken spec as it is", async () => {
    const { handler } = setup();
    const breaking = await handler(
      admission({
        operation: "UPDATE",
        object: policyObject(brokenSpec, { generation: 2 }),
        oldObject: policyObject(goodSpec),
      }),
    );
    expect(breaking.allowed).toBe(false);
    expect(breaking.status?.message).toContain("spec.checks[0].cel: syntax error");
    const relabel = await handler(
      admission({
        operation: "UPDATE",
        object: policyObject(brokenSpec, { labels: { a: "b" } }),
        oldObject: policyObject(brokenSpec),
      }),
    );
    expect(relabel.allowed).toBe(true);
  });

  it("admits and records a deletion by its user, with the deleted spec's hash and no spec", async () => {
    const { handler, evidence } = setup();
    await handler(admission({}));
    const deletion = admission({
      operation: "DELETE",
      object: null,
      oldObject: policyObject(goodSpec),
      userInfo: { username: "carol", groups: [] },
    });
    expect((await handler(deletion)).allowed).toBe(true);
    expect((await handler({ ...deletion, uid: "review-retry" })).allowed).toBe(true);
    expect(evidence.records).toHaveLength(2);
    expect(evidence.records[1]).toMatchObject({
      id: `policy-change:${UID}:deleted`,
      type: "policy.change",
      subject: "AegisPolicy/prod-gate",
      actor: "carol",
      data: { operation: "DELETE", specHash: storedHash(goodSpec), generation: 1, spec: null, uid: UID },
    });
  });

  it("deletes (and records) a policy that does not compile: deleting it is how it is fixed", async () => {
    const { handler, evidence } = setup();
    const response = await handler(
      admission({ operation: "DELETE", object: null, oldObject: policyObject(brokenSpec) }),
    );
    expect(response.allowed).toBe(true);
    expect(evidence.records[0]?.data).toMatchObject({ operation: "DELETE", specHash: storedHash(brokenSpec) });
  });

  it("leaves the status subresource alone (AEGIS's controller writes it)", async () => {
    const { handler, evidence } = setup();
    const response = await handler(
      admission({
        operation: "UPDATE",
        subResource: "status",
        object: policyObject(brokenSpec),
        oldObject: policyObject(brokenSpec),
      }),
    );
    expect(response.allowed).toBe(true);
    expect(evidence.records).toEqual([]);
  });

  it("keeps one record per change: the reconciler's record of the same spec is dropped, so the user stays the actor", async () => {
    const { handler, evidence, policies } = setup();
    await handler(admission({}));
    policies.add(policyObject(goodSpec));
    await reconcileAegisPolicy("prod-gate", {
      policies,
      actions: { patchStatus: (_policy: AegisPolicy) => Promise.resolve() },
      evidence,
      now: () => new Date("2026-11-26T12:00:01Z"),
      actor: AEGIS,
    });
    expect(evidence.records).toHaveLength(1);
    expect(evidence.records[0]).toMatchObject({ actor: "admin", data: { operation: "CREATE" } });
  });
});
