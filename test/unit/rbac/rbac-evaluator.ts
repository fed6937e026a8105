// A small, pure model of Kubernetes' RBAC authorizer (plugin/pkg/auth/authorizer/rbac): which
// bindings apply to a subject, and whether one of their rules allows a resource request. Enough
// for AEGIS's manifests; what it does not model (aggregation, non-resource URLs) it refuses.
import { parseAllDocuments } from "yaml";

export interface PolicyRule {
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly verbs: readonly string[];
  readonly resourceNames?: readonly string[];
  readonly nonResourceURLs?: readonly string[];
}

interface RoleObject {
  readonly kind: "ClusterRole" | "Role";
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly rules?: readonly PolicyRule[] | null;
  readonly aggregationRule?: unknown;
}

export interface Subject {
  readonly kind: string;
  readonly name: string;
  readonly namespace?: string;
  readonly apiGroup?: string;
}

interface BindingObject {
  readonly kind: "ClusterRoleBinding" | "RoleBinding";
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly roleRef: { readonly kind: "ClusterRole" | "Role"; readonly name: string; readonly apiGroup?: string };
  readonly subjects?: readonly Subject[] | null;
}

export interface RbacObjects {
  readonly roles: readonly RoleObject[];
  readonly bindings: readonly BindingObject[];
}

/** What the API server authorizes: namespace "" is a cluster-wide request, name "" none in the URL. */
export interface ResourceRequest {
  readonly verb: string;
  readonly group: string;
  /** `resource` or `resource/subresource`. */
  readonly resource: string;
  readonly namespace: string;
  readonly name: string;
}

/** A rule as it applies: everywhere (through a ClusterRoleBinding) or in one namespace. */
export interface ScopedRule {
  readonly rule: PolicyRule;
  /** undefined: every namespace and cluster-scoped requests; else only requests in it. */
  readonly namespace: string | undefined;
  /** `ClusterRole/aegis`, `Role/aegis-system/aegis`: where the rule is written. */
  readonly source: string;
}

const RBAC_KINDS = new Set(["ClusterRole", "Role", "ClusterRoleBinding", "RoleBinding"]);

/** The RBAC objects of a multi-document YAML file; other kinds are skipped. */
export function parseRbac(text: string): RbacObjects {
  const roles: RoleObject[] = [];
  const bindings: BindingObject[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) throw new Error(`invalid YAML: ${document.errors[0]?.message ?? "?"}`);
    const object = document.toJS() as { kind?: string } | null;
    if (!object?.kind || !RBAC_KINDS.has(object.kind)) continue;
    if (object.kind === "ClusterRole" || object.kind === "Role") roles.push(object as RoleObject);
    else bindings.push(object as BindingObject);
  }
  return { roles, bindings };
}

/** A service account's user name and groups, as the API server authenticates its tokens. */
function serviceAccountMatches(subject: Subject, account: { name: string; namespace: string }): boolean {
  switch (subject.kind) {
    case "ServiceAccount":
      return subject.name === account.name && subject.namespace === account.namespace;
    case "User":
      return subject.name === `system:serviceaccount:${account.namespace}:${account.name}`;
    case "Group":
      return ["system:serviceaccounts", `system:serviceaccounts:${account.namespace}`, "system:authenticated"].includes(
        subject.name,
      );
    default:
      return false;
  }
}

function findRole(objects: RbacObjects, kind: "ClusterRole" | "Role", name: string, namespace?: string): RoleObject {
  const role = objects.roles.find(
    (r) =>
      r.kind === kind && r.metadata.name === name && (kind === "ClusterRole" || r.metadata.namespace === namespace),
  );
  if (!role) throw new Error(`${kind} ${namespace ? `${namespace}/` : ""}${name} is bound but not defined`);
  if (role.aggregationRule) throw new Error(`${kind} ${name} aggregates other roles: not modelled here`);
  return role;
}

/** Every rule that applies to the service account, with the scope its binding gives it. */
export function rulesForServiceAccount(
  objects: RbacObjects,
  account: { name: string; namespace: string },
): ScopedRule[] {
  const scoped: ScopedRule[] = [];
  for (const binding of objects.bindings) {
    if (!(binding.subjects ?? []).some((subject) => serviceAccountMatches(subject, account))) continue;
    const { kind, name } = binding.roleRef;
    if (binding.kind === "ClusterRoleBinding") {
      if (kind !== "ClusterRole") throw new Error(`ClusterRoleBinding ${binding.metadata.name} refers to a ${kind}`);
      const role = findRole(objects, "ClusterRole", name);
      for (const rule of role.rules ?? []) scoped.push({ rule, namespace: undefined, source: `ClusterRole/${name}` });
      continue;
    }
    const namespace = binding.metadata.namespace;
    if (!namespace) throw new Error(`RoleBinding ${binding.metadata.name} has no namespace`);
    const role = findRole(objects, kind, name, namespace);
    const source = kind === "Role" ? `Role/${namespace}/${name}` : `ClusterRole/${name}`;
    for (const rule of role.rules ?? []) scoped.push({ rule, namespace, source });
  }
  return scoped;
}

const includesOrAll = (list: readonly string[] | undefined, value: string): boolean =>
  (list ?? []).some((entry) => entry === "*" || entry === value);

/** rbacv1helpers.ResourceMatches: `*`, the exact `resource[/subresource]`, or `*\/subresource`. */
function resourceMatches(rule: PolicyRule, combined: string): boolean {
  const subresource = combined.includes("/") ? combined.slice(combined.indexOf("/") + 1) : "";
  return (rule.resources ?? []).some(
    (entry) => entry === "*" || entry === combined || (subresource !== "" && entry === `*/${subresource}`),
  );
}

/** rbac.RuleAllows for a resource request. */
export function ruleAllows(rule: PolicyRule, request: ResourceRequest): boolean {
  const names = rule.resourceNames ?? [];
  return (
    includesOrAll(rule.verbs, request.verb) &&
    includesOrAll(rule.apiGroups, request.group) &&
    resourceMatches(rule, request.resource) &&
    (names.length === 0 || names.includes(request.name))
  );
}

/** The rules that allow the request (empty: RBAC denies it). */
export function allowingRules(rules: readonly ScopedRule[], request: ResourceRequest): ScopedRule[] {
  return rules.filter(
    (scoped) =>
      (scoped.namespace === undefined || scoped.namespace === request.namespace) && ruleAllows(scoped.rule, request),
  );
}

export function isAllowed(rules: readonly ScopedRule[], request: ResourceRequest): boolean {
  return allowingRules(rules, request).length > 0;
}

/**
 * The name the authorizer sees: only what is in the URL. A create (POST to the collection) never
 * carries one, which is why `resourceNames` cannot restrict it; a list or a watch carries one only
 * with a `metadata.name` field selector, which AEGIS's informers never use.
 */
export function requestName(verb: string, name: string): string {
  return verb === "create" || verb === "list" || verb === "watch" || verb === "deletecollection" ? "" : name;
}
