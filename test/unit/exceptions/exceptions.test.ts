// AegisExceptions end to end through the admission handler (exception guard, approval guard,
// gate) with in-memory ports, and the pure matching and standing rules beside it.
import { describe, expect, it } from "vitest";
import { generateSigningKey } from "../../../src/evidence/chain/signing.js";
import type { AegisException, ApprovalRequest } from "../../../src/api/v1alpha1/index.js";
import { aegisExceptionSchema, aegisPolicySchema } from "../../../src/api/v1alpha1/index.js";
import type { AdmissionRequest } from "../../../src/webhook/admission-review.js";
import { computeChangeHash } from "../../../src/changehash/index.js";
import { createAdmissionHandler } from "../../../src/webhook/handler.js";
import {
  applyExceptions,
  exceptionCovers,
  exceptionHash,
  exceptionProblems,
  exceptionRequestName,
  exceptionStanding,
} from "../../../src/exceptions/index.js";
import { evaluate, compilePolicy } from "../../../src/policy/index.js";
import { withExceptionFindings, auditObject } from "../../../src/audit/index.js";
import { MemoryApprovalRequests, MemoryEvidence, MemoryPolicySource } from "../../fakes/memory-ports.js";

const AEGIS = "system:serviceaccount:aegis-system:aegis-sa";
const T0 = new Date("2026-11-26T12:00:00Z");
const HOUR = 3_600_000;

const POLICY_SPEC = {
  match: { kinds: ["Deployment"] },
  checks: [
    { name: "no-latest", disallowLatestTag: true },
    { name: "owner-label", requiredLabels: ["owner"] },
  ],
  approval: { mode: "Never", approvers: { groups: ["security"] } },
  maxExceptionDuration: "48h",
};

function deployment(image: string, labels: Record<string, string> = { app: "web" }, name = "web") {
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: "prod", labels },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image }] } },
    },
  };
}

function exception(spec: Partial<AegisException["spec"]> = {}, name = "latest-ok", namespace = "prod"): AegisException {
  return aegisExceptionSchema.parse({
    apiVersion: "aegis.valina.ai/v1alpha1",
    kind: "AegisException",
    metadata: { name, namespace },
    spec: {
      target: { kind: "Deployment", name: "web" },
      policies: ["baseline"],
      checks: ["no-latest"],
      owner: "team-web",
      reason: "vendor image has no tags yet",
      ticket: "SEC-42",
      expiresAt: new Date(T0.getTime() + 24 * HOUR).toISOString(),
      ...spec,
    },
  });
}

function setup(policySpec: Record<string, unknown> = POLICY_SPEC) {
  let now = T0;
  const policies = new MemoryPolicySource([
    { apiVersion: "aegis.valina.ai/v1alpha1", kind: "AegisPolicy", metadata: { name: "baseline" }, spec: policySpec },
  ]);
  const requests = new MemoryApprovalRequests([], () => now);
  const evidence = new MemoryEvidence();
  const stored = new Map<string, AegisException>();
  const handler = createAdmissionHandler({
    policies,
    evidencePublicKey: generateSigningKey().publicKey,
    namespaceLabels: (namespace) => ({ "kubernetes.io/metadata.name": namespace }),
    approvalRequests: requests,
    requestWriter: requests,
    exceptions: (namespace) => [...stored.values()].filter((e) => e.metadata.namespace === namespace),
    slackMappingReviewer: { mayActAs: () => Promise.resolve(false) },
    evidence,
    now: () => now,
    aegisUsername: AEGIS,
    aegisNamespace: "aegis-system",
    extraApprovals: () => 0,
  });
  const review = (overrides: Partial<AdmissionRequest>): AdmissionRequest => ({
    uid: `uid-${Math.random()}`,
    kind: { group: "apps", version: "v1", kind: "Deployment" },
    resource: { group: "apps", version: "v1", resource: "deployments" },
    name: "web",
    namespace: "prod",
    operation: "CREATE",
    userInfo: { username: "dev", groups: ["developers"] },
    object: null,
    oldObject: null,
    dryRun: false,
    ...overrides,
  });
  /** Applies an exception as `user`: the guard's answer; admitted ones are stored as the API server would. */
  const applyException = async (ex: AegisException, user = "dev", previous?: AegisException) => {
    const response = await handler(
      review({
        kind: { group: "aegis.valina.ai", version: "v1alpha1", kind: "AegisException" },
        resource: { group: "aegis.valina.ai", version: "v1alpha1", resource: "aegisexceptions" },
        name: ex.metadata.name ?? "",
        namespace: ex.metadata.namespace ?? "",
        operation: previous ? "UPDATE" : "CREATE",
        userInfo: { username: user, groups: ["developers"] },
        object: ex,
        oldObject: previous ?? null,
      }),
    );
    if (response.allowed) stored.set(`${ex.metadata.namespace}/${ex.metadata.name}`, ex);
    return response;
  };
  /** Appends a decision through the approval guard, as `kubectl aegis approve` does. */
  const decide = async (request: ApprovalRequest, user: string, groups: string[], decision = "Approve") => {
    const updated = structuredClone(request);
    updated.spec.decisions.push({
      user,
      groups,
      decision: decision as "Approve",
      comment: "",
      at: now.toISOString(),
      via: "kubectl",
    });
    const response = await handler(
      review({
        kind: { group: "aegis.valina.ai", version: "v1alpha1", kind: "ApprovalRequest" },
        resource: { group: "aegis.valina.ai", version: "v1alpha1", resource: "approvalrequests" },
        name: request.metadata.name ?? "",
        operation: "UPDATE",
        userInfo: { username: user, groups },
        object: updated,
        oldObject: request,
      }),
    );
    if (response.allowed) requests.put(updated);
    return response;
  };
  const admitDeployment = (object: Record<string, unknown>) => handler(review({ object }));
  return {
    handler,
    requests,
    evidence,
    stored,
    policies,
    applyException,
    decide,
    admitDeployment,
    setNow: (date: Date) => (now = date),
  };
}

describe("AegisException through the gate", () => {
  it("waives nothing until approved, then admits the waived violation until expiresAt and not after", async () => {
    const { applyException, decide, admitDeployment, requests, evidence, setNow } = setup();
    const latest = deployment("nginx:latest", { app: "web", owner: "a" });
    expect((await admitDeployment(latest)).allowed).toBe(false);

    const ex = exception();
    const applied = await applyException(ex);
    expect(applied.allowed).toBe(true);
    expect(applied.warnings?.[0]).toContain(`kubectl aegis approve ${exceptionRequestName(ex)} -n prod`);
    const request = requests.get(exceptionRequestName(ex), "prod");
    expect(request?.spec).toMatchObject({
      target: { kind: "AegisException", name: "latest-ok", namespace: "prod" },
      requester: { username: "dev" },
      policies: ["baseline"],
    });
    expect(evidence.records.at(-1)).toMatchObject({ type: "exception.requested", actor: "dev" });

    expect((await admitDeployment(latest)).allowed).toBe(false); // still pending
    expect((await decide(request!, "sam", ["security"])).allowed).toBe(true);

    const admitted = await admitDeployment(latest);
    expect(admitted.allowed).toBe(true);
    expect(admitted.warnings?.join("\n")).toContain(
      "baseline/no-latest waived by AegisException prod/latest-ok (team-web, SEC-42)",
    );
    const used = evidence.records.filter((r) => r.type === "admission.decision").at(-1);
    expect(used?.data).toMatchObject({
      allowed: true,
      exceptions: [{ exception: "prod/latest-ok", check: "no-latest" }],
    });

    // Only the named check is waived: a missing owner label still denies.
    const noOwner = await admitDeployment(deployment("nginx:latest"));
    expect(noOwner.allowed).toBe(false);
    expect(noOwner.status?.message).toContain("baseline/owner-label");
    expect(noOwner.status?.message).not.toContain("baseline/no-latest");

    setNow(new Date(T0.getTime() + 24 * HOUR));
    const expired = await admitDeployment(latest);
    expect(expired.allowed).toBe(false);
    expect(expired.status?.message).toContain("baseline/no-latest");
  });

  it("refuses self-approval and approvers the policy does not name", async () => {
    const { applyException, decide, requests, admitDeployment } = setup();
    const ex = exception();
    await applyException(ex);
    const request = requests.get(exceptionRequestName(ex), "prod")!;
    const self = await decide(request, "dev", ["developers", "security"]);
    expect(self.allowed).toBe(false);
    expect(self.status?.message).toContain("does not allow self-approval");
    const outsider = await decide(request, "eve", ["developers"]);
    expect(outsider.allowed).toBe(false);
    expect(outsider.status?.message).toContain("eve is not an approver of policy baseline");
    expect((await admitDeployment(deployment("nginx:latest", { app: "web", owner: "a" }))).allowed).toBe(false);
  });

  it("a status set by hand to Active waives nothing: the gate derives the standing", async () => {
    const { applyException, stored, admitDeployment } = setup();
    const ex = exception();
    await applyException(ex);
    stored.set("prod/latest-ok", { ...ex, status: { phase: "Active", approvedBy: ["sam"] } });
    expect((await admitDeployment(deployment("nginx:latest", { app: "web", owner: "a" }))).allowed).toBe(false);
  });

  it("editing an approved exception (longer, wider) needs a new approval", async () => {
    const { applyException, decide, requests, admitDeployment } = setup();
    const ex = exception();
    await applyException(ex);
    await decide(requests.get(exceptionRequestName(ex), "prod")!, "sam", ["security"]);
    const latest = deployment("nginx:latest", { app: "web", owner: "a" });
    expect((await admitDeployment(latest)).allowed).toBe(true);
    const wider = exception({ checks: undefined });
    expect((await applyException(wider, "dev", ex)).allowed).toBe(true);
    expect(exceptionRequestName(wider)).not.toBe(exceptionRequestName(ex));
    expect((await admitDeployment(latest)).allowed).toBe(false);
    expect(requests.get(exceptionRequestName(wider), "prod")?.spec.decisions).toEqual([]);
  });

  it("covers only its own namespace, kind and name (or labels), and a bound change hash", async () => {
    const { applyException, decide, requests, admitDeployment } = setup();
    const other = exception({}, "elsewhere", "staging");
    await applyException(other);
    await decide(requests.get(exceptionRequestName(other), "staging")!, "sam", ["security"]);
    expect((await admitDeployment(deployment("nginx:latest", { app: "web", owner: "a" }))).allowed).toBe(false);

    const latest = deployment("nginx:latest", { app: "web", owner: "a" });
    const bound = exception({ changeHash: computeChangeHash(deployment("nginx:1.0")) }, "bound");
    await applyException(bound);
    await decide(requests.get(exceptionRequestName(bound), "prod")!, "sam", ["security"]);
    expect((await admitDeployment(latest)).allowed).toBe(false);

    const byLabel = exception(
      { target: { kind: "Deployment", selector: { matchLabels: { tier: "vendor" } } } },
      "vendor",
    );
    await applyException(byLabel);
    await decide(requests.get(exceptionRequestName(byLabel), "prod")!, "sam", ["security"]);
    expect(
      (await admitDeployment(deployment("nginx:latest", { app: "web", owner: "a", tier: "vendor" }))).allowed,
    ).toBe(true);
    expect((await admitDeployment(latest)).allowed).toBe(false);
  });

  it("refuses exceptions the policies cannot allow, with every reason", async () => {
    const { applyException } = setup();
    const tooLong = await applyException(
      exception({
        expiresAt: new Date(T0.getTime() + 72 * HOUR).toISOString(),
        checks: ["no-such-check"],
        policies: ["baseline", "ghost"],
      }),
    );
    expect(tooLong.allowed).toBe(false);
    expect(tooLong.status?.message).toContain("maxExceptionDuration (48h)");
    expect(tooLong.status?.message).toContain("policy ghost does not exist");
    expect(tooLong.status?.message).toContain("has a check named no-such-check");
    const past = await applyException(exception({ expiresAt: new Date(T0.getTime() - 1).toISOString() }));
    expect(past.status?.message).toContain("is not in the future");

    const noApprovers = setup({ ...POLICY_SPEC, approval: undefined });
    const refused = await noApprovers.applyException(exception());
    expect(refused.status?.message).toContain("nobody is named to approve an exception");
    const forbidden = setup({ ...POLICY_SPEC, maxExceptionDuration: "0s" });
    expect((await forbidden.applyException(exception())).status?.message).toContain("allows no exceptions");
  });

  it("refuses an empty selector, which would cover every object of the kind", () => {
    const parsed = aegisExceptionSchema.safeParse({
      ...exception(),
      spec: { ...exception().spec, target: { kind: "Deployment", selector: {} } },
    });
    expect(parsed.success).toBe(false);
  });
});

describe("exception standing and matching (pure)", () => {
  const policy = compilePolicy(
    aegisPolicySchema.parse({
      apiVersion: "aegis.valina.ai/v1alpha1",
      kind: "AegisPolicy",
      metadata: { name: "baseline" },
      spec: POLICY_SPEC,
    }),
  );
  const lookup = { get: (name: string) => (name === "baseline" ? { spec: policy.spec } : undefined) };

  function approvedRequest(ex: AegisException, createdAt = T0): ApprovalRequest {
    return {
      apiVersion: "aegis.valina.ai/v1alpha1",
      kind: "ApprovalRequest",
      metadata: { name: exceptionRequestName(ex), namespace: "prod", creationTimestamp: createdAt.toISOString() },
      spec: {
        target: {
          apiVersion: "aegis.valina.ai/v1alpha1",
          kind: "AegisException",
          namespace: "prod",
          name: ex.metadata.name ?? "",
        },
        changeHash: exceptionHash(ex),
        policies: ex.spec.policies,
        requester: { username: "dev", groups: [] },
        risk: { score: 0, factors: [] },
        summary: "",
        reason: "",
        decisions: [
          { user: "sam", groups: ["security"], decision: "Approve", comment: "", at: T0.toISOString(), via: "kubectl" },
        ],
      },
    };
  }

  it("is Active only with an approved request for exactly this spec, Expired from expiresAt on", () => {
    const ex = exception();
    const inputs = { policies: lookup, extraApprovals: 0, now: T0 };
    expect(exceptionStanding(ex, { ...inputs, request: undefined }).phase).toBe("Pending");
    expect(exceptionStanding(ex, { ...inputs, request: approvedRequest(ex) }).phase).toBe("Active");
    const edited = exception({ reason: "something else" });
    expect(exceptionStanding(edited, { ...inputs, request: approvedRequest(ex) }).phase).toBe("Pending");
    const atExpiry = { ...inputs, now: new Date(T0.getTime() + 24 * HOUR), request: approvedRequest(ex) };
    expect(exceptionStanding(ex, atExpiry).phase).toBe("Expired");
  });

  it("turns Invalid when its policy later shortens maxExceptionDuration below what was approved", () => {
    const ex = exception();
    const strict = { get: () => ({ spec: { ...policy.spec, maxExceptionDuration: "1h" } }) };
    const standing = exceptionStanding(ex, {
      policies: strict,
      extraApprovals: 0,
      now: T0,
      request: approvedRequest(ex),
    });
    expect(standing.phase).toBe("Invalid");
    expect(standing.message).toContain("maxExceptionDuration (1h)");
  });

  it("waives only declared checks of the listed policies, and equals no waiver when none covers", () => {
    const request = {
      operation: "CREATE" as const,
      kind: "Deployment",
      apiVersion: "apps/v1",
      namespace: "prod",
      name: "web",
      object: deployment("nginx:latest"),
      oldObject: null,
      user: { username: "dev", groups: [] },
      namespaceLabels: {},
    };
    const evaluation = evaluate([policy], request);
    expect(evaluation.denied.map((v) => v.check).sort()).toEqual(["no-latest", "owner-label"]);
    const subject = {
      kind: "Deployment",
      namespace: "prod",
      name: "web",
      labels: { app: "web" },
      changeHash: () => computeChangeHash(request.object),
    };
    const waivedOne = applyExceptions(evaluation, [exception()], subject);
    expect(waivedOne.evaluation.denied.map((v) => v.check)).toEqual(["owner-label"]);
    expect(waivedOne.waived.map((w) => w.check)).toEqual(["no-latest"]);
    const waivedAll = applyExceptions(evaluation, [exception({ checks: undefined })], subject);
    expect(waivedAll.evaluation.denied).toEqual([]);
    const otherPolicy = applyExceptions(evaluation, [exception({ policies: ["other"] })], subject);
    expect(otherPolicy.evaluation).toBe(evaluation);
    expect(exceptionCovers(exception(), { ...subject, name: "api" })).toBe(false);
    expect(exceptionCovers(exception(), { ...subject, kind: "StatefulSet" })).toBe(false);
  });

  it("turns the audit's failed results it covers into skip, naming the exception", () => {
    const object = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      namespace: "prod",
      name: "web",
      uid: "u1",
      object: deployment("nginx:latest"),
    };
    const audit = auditObject([policy], object, {});
    const findings = withExceptionFindings(audit.findings, object, [exception()], () =>
      computeChangeHash(object.object),
    );
    expect(findings.find((f) => f.rule === "no-latest")).toMatchObject({ result: "skip" });
    expect(findings.find((f) => f.rule === "no-latest")?.message).toContain("waived by AegisException prod/latest-ok");
    expect(findings.find((f) => f.rule === "owner-label")?.result).toBe("fail");
  });

  it("lists every problem of an exception against its policies", () => {
    expect(exceptionProblems(exception(), lookup, T0)).toEqual([]);
    expect(exceptionProblems(exception({ policies: ["ghost"] }), lookup, T0)).toEqual(["policy ghost does not exist"]);
  });
});
