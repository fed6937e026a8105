// The aegis-slack-users admission guard with its real SubjectAccessReview client
// (KubeSlackMappingReviewer over client-node) against a local stand-in of the API server: what is
// asked (the writer from userInfo, `impersonate` on the mapped user) and what the answer does.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeSlackMappingReviewer } from "../../../src/adapters/slack/mapping-reviewer.js";
import type { AdmissionRequest } from "../../../src/webhook/admission-review.js";
import { admitSlackUsersMap } from "../../../src/webhook/slack-users-guard.js";
import { MemoryEvidence } from "../../fakes/memory-ports.js";
import { startFakeKubeApi, type FakeKubeApi } from "./fake-kube-api.js";

let kube: FakeKubeApi;

beforeAll(async () => {
  kube = await startFakeKubeApi();
});
afterAll(async () => {
  await kube.close();
});

function update(user: { username: string; groups: string[] }, data: Record<string, string>): AdmissionRequest {
  const object = (entries: Record<string, string>) => ({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: "aegis-slack-users", namespace: "aegis-system", uid: "cm-uid", resourceVersion: "7" },
    data: entries,
  });
  return {
    uid: "review-1",
    kind: { group: "", version: "v1", kind: "ConfigMap" },
    resource: { group: "", version: "v1", resource: "configmaps" },
    name: "aegis-slack-users",
    namespace: "aegis-system",
    operation: "UPDATE",
    userInfo: user,
    object: object(data),
    oldObject: object({}),
    dryRun: false,
  };
}

describe("the aegis-slack-users guard with SubjectAccessReview", () => {
  it("asks whether the writer may impersonate the mapped user, and admits only then", async () => {
    const deps = {
      evidence: new MemoryEvidence(),
      slackMappingReviewer: new KubeSlackMappingReviewer(kube.kubeConfig),
    };
    const eve = { username: "eve", groups: ["aegis-editors", "system:authenticated"] };
    kube.allow = (spec) => spec.user === "admin";
    const refused = await admitSlackUsersMap(
      update(eve, { U1: "alice", U2: "system:serviceaccount:prod:deployer" }),
      deps,
    );
    expect(refused.allowed).toBe(false);
    expect(kube.accessReviews).toEqual([
      {
        user: "eve",
        groups: ["aegis-editors", "system:authenticated"],
        resourceAttributes: { group: "", resource: "users", verb: "impersonate", name: "alice" },
      },
      {
        user: "eve",
        groups: ["aegis-editors", "system:authenticated"],
        resourceAttributes: {
          group: "",
          resource: "serviceaccounts",
          verb: "impersonate",
          namespace: "prod",
          name: "deployer",
        },
      },
    ]);
    expect(deps.evidence.records).toEqual([]);

    const admitted = await admitSlackUsersMap(update({ username: "admin", groups: [] }, { U1: "alice" }), deps);
    expect(admitted.allowed).toBe(true);
    expect(deps.evidence.records).toMatchObject([{ actor: "admin", data: { added: { U1: "alice" } } }]);
  });
});
