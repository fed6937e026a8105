// test/fixtures/kube-api-calls.ts lists every Kubernetes request AEGIS makes; this scan of src/
// keeps it honest: a new client call (or informer path) without an entry fails here, so its RBAC
// is decided on purpose, and an entry whose call is gone fails too, so RBAC does not keep it.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { KUBE_API_CALLS } from "../../fixtures/kube-api-calls.js";
import { clientMethodNames, scanRepository, scanSource, siteKey } from "./kube-call-scanner.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const manifestSites = new Set(KUBE_API_CALLS.flatMap((call) => call.sites.map(siteKey)));
const HOW_TO_FIX =
  "add an entry to test/fixtures/kube-api-calls.ts (group, resource, verb, scope, names) and the matching rule to deploy/rbac.yaml and charts/aegis/templates/rbac.yaml";

describe("the Kubernetes calls of src/", () => {
  const scan = scanRepository(repoRoot);

  it("are all in test/fixtures/kube-api-calls.ts", () => {
    const missing = [...scan.sites].filter((site) => !manifestSites.has(site)).sort();
    expect(missing, HOW_TO_FIX).toEqual([]);
  });

  it("include every call the manifest names (no stale entries keeping RBAC alive)", () => {
    const stale = [...manifestSites].filter((site) => !scan.sites.has(site)).sort();
    expect(stale, "remove the entry and its RBAC rule, or fix its file/method").toEqual([]);
  });

  it("go only through client-node APIs the scan understands", () => {
    expect(scan.unscannable, "teach test/unit/rbac/kube-call-scanner.ts about it, then list its calls").toEqual([]);
  });

  it("has well-formed entries: one per (group, resource, verb, scope), each with a site", () => {
    const keys = KUBE_API_CALLS.map((call) => `${call.group}/${call.resource} ${call.verb} ${call.namespaced}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const call of KUBE_API_CALLS) expect(call.sites.length, keys.join()).toBeGreaterThan(0);
  });
});

describe("the scanner", () => {
  const methods = clientMethodNames();

  it("knows client-node's request methods and not generic names", () => {
    for (const method of ["readNamespacedSecret", "patchNamespacedCustomObject", "createSelfSubjectReview"])
      expect(methods.has(method), method).toBe(true);
    for (const method of ["create", "list", "patchStatus", "patchDeployment"])
      expect(methods.has(method), method).toBe(false);
  });

  it("finds a new call, ignores comments and strings, and reports imports it cannot follow", () => {
    const text = [
      'import { AppsV1Api, CoreV1Api, type V1Secret } from "@kubernetes/client-node";',
      'import * as k8s from "@kubernetes/client-node";',
      "// core.listSecretForAllNamespaces() in a comment is not a call",
      'const note = "core.deleteNamespacedSecret()";',
      "await core.listSecretForAllNamespaces();",
      "await apps.patchNamespacedStatefulSet({ name, namespace, body });",
      "listWatchSource({ kubeConfig, path: `/api/v1/namespaces/${ns}/secrets`, list });",
      'app.get("/api/approvals", handler);',
    ].join("\n");
    const result = scanSource("src/new.ts", text, methods);
    expect([...result.sites].sort()).toEqual([
      "src/new.ts /api/v1/namespaces/${ns}/secrets",
      "src/new.ts listSecretForAllNamespaces",
      "src/new.ts patchNamespacedStatefulSet",
    ]);
    expect(result.unscannable).toEqual([
      "src/new.ts:1: imports AppsV1Api from @kubernetes/client-node",
      "src/new.ts:2: import * from @kubernetes/client-node",
    ]);
  });

  it("takes paths only where informers are built (not AEGIS's own REST routes)", () => {
    const result = scanSource("src/http/x.ts", 'router.get("/api/v1/openapi.json", serve);', methods);
    expect([...result.sites]).toEqual([]);
  });
});
