import { describe, expect, it } from "vitest";
import { argoCdApplicationOf, argoCdCommitAnnotations, argoCdTrackingOf } from "../../../src/api/git-reference.js";

const request = { namespace: "prod", name: "deployment-web-0123456789" };
const object = (labels: Record<string, string>, annotations: Record<string, string> = {}) => ({
  metadata: { name: "web", namespace: "prod", labels, annotations },
});

describe("argoCdTrackingOf", () => {
  it("puts the request into the Application tracking the object, never to be pruned or to make it OutOfSync", () => {
    expect(argoCdTrackingOf(object({ "app.kubernetes.io/instance": "shop" }), request)).toEqual({
      labels: { "app.kubernetes.io/instance": "shop" },
      annotations: {
        "argocd.argoproj.io/compare-options": "IgnoreExtraneous",
        "argocd.argoproj.io/sync-options": "Prune=false,Delete=false",
      },
    });
  });

  it("rewrites annotation tracking to the request's own identity (Argo CD checks it names the object)", () => {
    const tracked = argoCdTrackingOf(
      object({}, { "argocd.argoproj.io/tracking-id": "shop:apps/Deployment:prod/web" }),
      request,
    );
    expect(tracked.annotations["argocd.argoproj.io/tracking-id"]).toBe(
      "shop:aegis.valina.ai/ApprovalRequest:prod/deployment-web-0123456789",
    );
  });

  it("adds nothing for an object no Application tracks, or a label value Kubernetes would refuse", () => {
    expect(argoCdTrackingOf(object({ app: "web" }), request)).toEqual({ labels: {}, annotations: {} });
    expect(argoCdTrackingOf(object({ "app.kubernetes.io/instance": "-bad value-" }), request)).toEqual({
      labels: {},
      annotations: {},
    });
    expect(argoCdTrackingOf(null, request)).toEqual({ labels: {}, annotations: {} });
  });
});

describe("the commit an Argo CD Application syncs", () => {
  const sha = "0123456789abcdef0123456789abcdef01234567";
  it("is the running operation's revision, else the compared one, with a GitHub repository when the URL is one", () => {
    expect(
      argoCdCommitAnnotations({
        spec: { source: { repoURL: "https://github.com/acme/shop.git" } },
        status: { operationState: { operation: { sync: { revision: sha } } }, sync: { revision: "f".repeat(40) } },
      }),
    ).toEqual({ "aegis.valina.ai/git-commit": sha, "aegis.valina.ai/git-repository": "acme/shop" });
    expect(
      argoCdCommitAnnotations({
        spec: { source: { repoURL: "file:///srv/git" } },
        status: { sync: { revision: sha } },
      }),
    ).toEqual({
      "aegis.valina.ai/git-commit": sha,
    });
  });

  it("is nothing when the Application names no full commit (a branch, a chart version) or is not one", () => {
    expect(argoCdCommitAnnotations({ status: { sync: { revision: "main" } } })).toEqual({});
    expect(argoCdCommitAnnotations(undefined)).toEqual({});
  });

  it("belongs to the Application named by the tracking annotation, else the label", () => {
    expect(argoCdApplicationOf(object({ "app.kubernetes.io/instance": "shop" }))).toBe("shop");
    expect(
      argoCdApplicationOf(
        object(
          { "app.kubernetes.io/instance": "helm-release" },
          { "argocd.argoproj.io/tracking-id": "shop:apps/Deployment:prod/web" },
        ),
      ),
    ).toBe("shop");
    expect(argoCdApplicationOf(object({}))).toBeUndefined();
  });
});
