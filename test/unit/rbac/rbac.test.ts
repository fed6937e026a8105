// AEGIS's RBAC (deploy/rbac.yaml, and the chart's template, which must say the same) allows every
// request in test/fixtures/kube-api-calls.ts and nothing else: no wildcards, no Secret or
// ConfigMap beyond AEGIS's own, no writes to workloads other than Deployments, no webhook
// configuration but `aegis`. Evaluated the way the API server's RBAC authorizer does.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { GRANTED_KUBE_API_CALLS, KUBE_API_CALLS, type KubeApiCall } from "../../fixtures/kube-api-calls.js";
import {
  allowingRules,
  isAllowed,
  parseRbac,
  requestName,
  rulesForServiceAccount,
  type PolicyRule,
  type RbacObjects,
  type ResourceRequest,
  type ScopedRule,
} from "./rbac-evaluator.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const AEGIS_NAMESPACE = "aegis-system";
const AEGIS = { name: "aegis-sa", namespace: AEGIS_NAMESPACE };
const OTHER_NAMESPACES = ["default", "team-payments", "kube-system"];

const read = (file: string): string => readFileSync(path.join(repoRoot, file), "utf8");

/**
 * charts/aegis/templates/rbac.yaml as helm renders it with the defaults (release namespace
 * aegis-system), without helm: the template has only these expressions. The chart's
 * integration test renders it with the real helm.
 */
function renderChartRbac(): string {
  const substitutions: Record<string, string> = {
    "{{ $fullname }}": "aegis",
    "{{ .Release.Namespace }}": AEGIS_NAMESPACE,
    '{{ include "aegis.serviceAccountName" . }}': AEGIS.name,
  };
  const lines = read("charts/aegis/templates/rbac.yaml")
    .split("\n")
    .filter((line) => !/^\s*\{\{-.*\}\}\s*$/.test(line))
    .map((line) => line.replace(/\{\{ [^}]* \}\}/g, (expression) => substitutions[expression] ?? expression));
  const unknown = lines.find((line) => line.includes("{{"));
  if (unknown) throw new Error(`charts/aegis/templates/rbac.yaml: no substitution for ${unknown.trim()}`);
  return lines.join("\n");
}

const FILES: [string, RbacObjects][] = [
  ["deploy/rbac.yaml", parseRbac(read("deploy/rbac.yaml"))],
  ["charts/aegis/templates/rbac.yaml", parseRbac(renderChartRbac())],
];

/** The requests one manifest entry stands for, in every namespace it may be made in. */
function requestsFor(call: KubeApiCall): ResourceRequest[] {
  const namespaces =
    call.namespaced === "cluster"
      ? [""]
      : call.namespaced === "aegis-namespace"
        ? [AEGIS_NAMESPACE]
        : [...OTHER_NAMESPACES, AEGIS_NAMESPACE];
  const names = call.resourceNames ?? ["any-object"];
  return namespaces.flatMap((namespace) =>
    names.map((name) => ({
      verb: call.verb,
      group: call.group,
      resource: call.resource,
      namespace,
      name: requestName(call.verb, name),
    })),
  );
}

const describeRequest = (r: ResourceRequest): string =>
  `${r.verb} ${r.group || "core"}/${r.resource}${r.name ? ` ${r.name}` : ""} ${r.namespace ? `in ${r.namespace}` : "cluster-wide"}`;

/** Does the manifest need this (group, resource, verb) at the scope the rule is bound with? */
function needsAt(scoped: ScopedRule, group: string, resource: string, verb: string): KubeApiCall[] {
  return GRANTED_KUBE_API_CALLS.filter(
    (call) =>
      call.group === group &&
      call.resource === resource &&
      call.verb === verb &&
      (scoped.namespace === undefined
        ? call.namespaced !== "aegis-namespace"
        : scoped.namespace === AEGIS_NAMESPACE && call.namespaced === "aegis-namespace"),
  );
}

function grantProblems(scoped: ScopedRule, group: string, resource: string, verb: string): string[] {
  const scope = scoped.namespace === undefined ? "cluster-wide" : `in ${scoped.namespace}`;
  const what = `${scoped.source}: ${verb} ${group || "core"}/${resource} ${scope}`;
  if ([group, resource, verb].some((part) => part.includes("*"))) return [`${what}: wildcard`];
  const needs = needsAt(scoped, group, resource, verb);
  if (needs.length === 0) return [`${what}: no call needs it`];
  const names = scoped.rule.resourceNames ?? [];
  const anyName = needs.some((call) => call.resourceNames === undefined);
  const neededNames = new Set(needs.flatMap((call) => call.resourceNames ?? []));
  if (names.length > 0)
    return anyName ? [] : names.filter((n) => !neededNames.has(n)).map((n) => `${what} ${n}: not needed`);
  // create, list and watch carry no name to restrict (see requestName); anything else must name its objects.
  if (!anyName && requestName(verb, "x") !== "")
    return [`${what}: any name, where only ${[...neededNames].join(", ")} is needed`];
  return [];
}

/** Every grant of the rules that no manifest entry needs. */
function unneededGrants(rules: readonly ScopedRule[]): string[] {
  return rules.flatMap((scoped) => {
    const { apiGroups = [], resources = [], verbs, nonResourceURLs = [] } = scoped.rule;
    const problems =
      nonResourceURLs.length > 0 ? [`${scoped.source}: non-resource URLs ${nonResourceURLs.join()}`] : [];
    for (const group of apiGroups)
      for (const resource of resources)
        for (const verb of verbs) problems.push(...grantProblems(scoped, group, resource, verb));
    return problems;
  });
}

/** What a stolen AEGIS token must not be able to do (each was possible, or is a classic escalation). */
const FORBIDDEN: ResourceRequest[] = [
  ...["get", "list", "watch"].flatMap((verb) =>
    [...OTHER_NAMESPACES, AEGIS_NAMESPACE, ""].map((namespace) => ({
      verb,
      group: "",
      resource: "secrets",
      namespace,
      name: requestName(verb, "db-credentials"),
    })),
  ),
  ...["update", "patch", "delete"].map((verb) => ({
    verb,
    group: "",
    resource: "secrets",
    namespace: AEGIS_NAMESPACE,
    name: "aegis-webhook-ca",
  })),
  ...["get", "list", "watch"].flatMap((verb) =>
    [...OTHER_NAMESPACES, ""].map((namespace) => ({
      verb,
      group: "",
      resource: "configmaps",
      namespace,
      name: requestName(verb, "aegis-slack-users"),
    })),
  ),
  { verb: "get", group: "", resource: "configmaps", namespace: AEGIS_NAMESPACE, name: "other" },
  { verb: "update", group: "", resource: "configmaps", namespace: AEGIS_NAMESPACE, name: "aegis-slack-users" },
  ...["statefulsets", "daemonsets", "replicasets", "deployments"].flatMap((resource) =>
    ["create", "update", ...(resource === "deployments" ? [] : ["patch"])].map((verb) => ({
      verb,
      group: "apps",
      resource,
      namespace: "default",
      name: requestName(verb, "web"),
    })),
  ),
  { verb: "patch", group: "apps", resource: "deployments/scale", namespace: "default", name: "web" },
  ...["jobs", "cronjobs"].map((resource) => ({
    verb: "create",
    group: "batch",
    resource,
    namespace: "default",
    name: "",
  })),
  { verb: "create", group: "", resource: "pods", namespace: "default", name: "" },
  { verb: "create", group: "", resource: "pods/exec", namespace: "default", name: "web-0" },
  { verb: "create", group: "", resource: "pods/ephemeralcontainers", namespace: "default", name: "web-0" },
  { verb: "get", group: "", resource: "nodes/proxy", namespace: "", name: "node-1" },
  { verb: "create", group: "", resource: "serviceaccounts/token", namespace: "kube-system", name: "default" },
  { verb: "create", group: "", resource: "namespaces", namespace: "", name: "" },
  { verb: "patch", group: "", resource: "namespaces", namespace: "", name: "default" },
  { verb: "patch", group: "", resource: "events", namespace: "default", name: "web.1" },
  ...["get", "update", "patch", "delete"].map((verb) => ({
    verb,
    group: "admissionregistration.k8s.io",
    resource: "validatingwebhookconfigurations",
    namespace: "",
    name: "gatekeeper-validating-webhook-configuration",
  })),
  {
    verb: "list",
    group: "admissionregistration.k8s.io",
    resource: "validatingwebhookconfigurations",
    namespace: "",
    name: "",
  },
  {
    verb: "create",
    group: "admissionregistration.k8s.io",
    resource: "mutatingwebhookconfigurations",
    namespace: "",
    name: "",
  },
  { verb: "create", group: "rbac.authorization.k8s.io", resource: "clusterrolebindings", namespace: "", name: "" },
  { verb: "escalate", group: "rbac.authorization.k8s.io", resource: "clusterroles", namespace: "", name: "aegis" },
  { verb: "bind", group: "rbac.authorization.k8s.io", resource: "clusterroles", namespace: "", name: "cluster-admin" },
  { verb: "impersonate", group: "", resource: "users", namespace: "", name: "admin" },
  { verb: "update", group: "coordination.k8s.io", resource: "leases", namespace: AEGIS_NAMESPACE, name: "other" },
  {
    verb: "update",
    group: "coordination.k8s.io",
    resource: "leases",
    namespace: "kube-system",
    name: "kube-scheduler",
  },
  { verb: "update", group: "aegis.valina.ai", resource: "aegispolicies", namespace: "", name: "baseline" },
  { verb: "delete", group: "aegis.valina.ai", resource: "aegispolicies", namespace: "", name: "baseline" },
  { verb: "approve", group: "aegis.valina.ai", resource: "approvalrequests", namespace: "default", name: "x" },
];

const where = (rules: readonly ScopedRule[], request: ResourceRequest): string =>
  allowingRules(rules, request)
    .map((scoped) => scoped.source)
    .join(", ");

describe.each(FILES)("%s", (_file, objects) => {
  const rules = rulesForServiceAccount(objects, AEGIS);

  it("binds AEGIS's service account to the ClusterRole aegis and the Role aegis in its namespace", () => {
    expect([...new Set(rules.map((r) => r.source))].sort()).toEqual([
      "ClusterRole/aegis",
      `Role/${AEGIS_NAMESPACE}/aegis`,
    ]);
  });

  it("allows every request AEGIS makes", () => {
    const denied = GRANTED_KUBE_API_CALLS.flatMap(requestsFor)
      .filter((request) => !isAllowed(rules, request))
      .map(describeRequest);
    expect(denied).toEqual([]);
  });

  it("grants nothing the calls do not need", () => {
    expect(unneededGrants(rules)).toEqual([]);
  });

  it("does not grant the calls marked notGranted (AEGIS tolerates their 403)", () => {
    const granted = KUBE_API_CALLS.filter((call) => call.notGranted)
      .flatMap(requestsFor)
      .filter((request) => isAllowed(rules, request))
      .map(describeRequest);
    expect(granted).toEqual([]);
  });

  it("refuses what a stolen token would use to take over the cluster", () => {
    const allowed = FORBIDDEN.filter((request) => isAllowed(rules, request)).map(
      (request) => `${describeRequest(request)} (by ${where(rules, request)})`,
    );
    expect(allowed).toEqual([]);
  });

  it("has no wildcard, no Secret without resourceNames but create, no ConfigMap cluster-wide", () => {
    const problems: string[] = [];
    const check = (scoped: ScopedRule, rule: PolicyRule): void => {
      const lists = [rule.apiGroups ?? [], rule.resources ?? [], rule.verbs];
      if (lists.some((list) => list.some((entry) => entry.includes("*")))) problems.push(`${scoped.source}: wildcard`);
      const named = (rule.resourceNames ?? []).length > 0;
      const resources = rule.resources ?? [];
      if (resources.includes("secrets") && !named && rule.verbs.some((verb) => verb !== "create"))
        problems.push(`${scoped.source}: secrets ${rule.verbs.join()} without resourceNames`);
      if (resources.includes("configmaps") && scoped.namespace === undefined)
        problems.push(`${scoped.source}: configmaps cluster-wide`);
      if (
        resources.some((r) => ["statefulsets", "daemonsets", "replicasets"].includes(r)) &&
        rule.verbs.includes("patch")
      )
        problems.push(`${scoped.source}: patch on ${resources.join()}`);
    };
    for (const scoped of rules) check(scoped, scoped.rule);
    expect(problems).toEqual([]);
  });
});

describe("the chart template and deploy/rbac.yaml", () => {
  it("define the same rules for AEGIS (aegis-approver and aegis-viewer: the chart's integration test)", () => {
    const [[, deploy], [, chart]] = FILES as [[string, RbacObjects], [string, RbacObjects]];
    const rulesOf = (objects: RbacObjects): Record<string, unknown> =>
      Object.fromEntries(
        objects.roles
          .filter((role) => role.metadata.name === "aegis")
          .map((role) => [`${role.kind}/${role.metadata.name}`, role.rules]),
      );
    expect(Object.keys(rulesOf(deploy)).sort()).toEqual(["ClusterRole/aegis", "Role/aegis"]);
    expect(rulesOf(chart)).toEqual(rulesOf(deploy));
  });
});

describe("the RBAC evaluator", () => {
  const objects = parseRbac(`
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: wide }
rules:
  - { apiGroups: ["*"], resources: ["*/status"], verbs: ["patch"] }
  - { apiGroups: [""], resources: ["secrets"], resourceNames: ["one"], verbs: ["get", "create"] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: { name: wide }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: wide }
subjects: [{ kind: Group, name: "system:serviceaccounts:ns-a" }]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: { name: reader }
rules:
  - { apiGroups: ["apps"], resources: ["deployments"], verbs: ["*"] }
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: { name: reader, namespace: ns-b }
roleRef: { apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: reader }
subjects: [{ kind: ServiceAccount, name: sa, namespace: ns-a }]
`);
  const rules = rulesForServiceAccount(objects, { name: "sa", namespace: "ns-a" });
  const request = (over: Partial<ResourceRequest>): ResourceRequest => ({
    verb: "get",
    group: "",
    resource: "secrets",
    namespace: "ns-a",
    name: "one",
    ...over,
  });

  it("matches subresources with */sub, groups and resources with *", () => {
    expect(isAllowed(rules, request({ verb: "patch", group: "apps", resource: "deployments/status" }))).toBe(true);
    expect(isAllowed(rules, request({ verb: "patch", group: "apps", resource: "deployments" }))).toBe(false);
  });

  it("restricts by resourceNames, which a create (no name in the URL) never matches", () => {
    expect(isAllowed(rules, request({}))).toBe(true);
    expect(isAllowed(rules, request({ name: "two" }))).toBe(false);
    expect(isAllowed(rules, request({ verb: "create", name: requestName("create", "one") }))).toBe(false);
  });

  it("applies a RoleBinding's rules only in its namespace, even for a ClusterRole", () => {
    expect(
      isAllowed(rules, request({ verb: "delete", group: "apps", resource: "deployments", namespace: "ns-b" })),
    ).toBe(true);
    expect(
      isAllowed(rules, request({ verb: "delete", group: "apps", resource: "deployments", namespace: "ns-c" })),
    ).toBe(false);
    expect(
      isAllowed(rules, request({ verb: "list", group: "apps", resource: "deployments", namespace: "", name: "" })),
    ).toBe(false);
  });

  it("finds the over-grants of today's kind of rule", () => {
    const wide = rulesForServiceAccount(
      parseRbac(`
kind: ClusterRole
metadata: { name: aegis }
rules:
  - { apiGroups: [""], resources: ["secrets", "configmaps"], verbs: ["get", "create"] }
  - { apiGroups: ["apps"], resources: ["statefulsets"], verbs: ["patch"] }
---
kind: ClusterRoleBinding
metadata: { name: aegis }
roleRef: { kind: ClusterRole, name: aegis }
subjects: [{ kind: ServiceAccount, name: aegis-sa, namespace: aegis-system }]
`),
      AEGIS,
    );
    expect(unneededGrants(wide)).toEqual([
      "ClusterRole/aegis: get core/secrets cluster-wide: no call needs it",
      "ClusterRole/aegis: create core/secrets cluster-wide: no call needs it",
      "ClusterRole/aegis: get core/configmaps cluster-wide: no call needs it",
      "ClusterRole/aegis: create core/configmaps cluster-wide: no call needs it",
      "ClusterRole/aegis: patch apps/statefulsets cluster-wide: no call needs it",
    ]);
  });
});
