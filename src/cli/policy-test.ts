import { readFile } from "node:fs/promises";
import { parseAllDocuments } from "yaml";
import {
  aegisExceptionSchema,
  aegisPolicySchema,
  type AegisException,
  type AegisPolicy,
} from "../api/v1alpha1/index.js";
import { applyExceptions, exceptionKey, exceptionProblems } from "../exceptions/index.js";
import { computeChangeHash } from "../changehash/index.js";
import {
  compilePolicy,
  evaluate,
  PolicyCompileError,
  unmatchedReason,
  type CompiledPolicy,
  type GateRequest,
} from "../policy/index.js";

/** One element of `aegis policy test --output json` (DESIGN §4). */
export interface PolicyTestResult {
  file: string;
  kind: string;
  namespace: string;
  name: string;
  /** False only when an Enforce policy denies; a resource no policy evaluated is not denied. */
  allowed: boolean;
  /** Whether at least one policy matched and ran its checks. */
  evaluated: boolean;
  /** Why no policy evaluated the resource; only when `evaluated` is false. */
  reason?: string;
  violations: { check: string; rule: string; message: string }[];
  /** Violations an exception given with --exceptions waived (valid and unexpired at --now). */
  waived?: { exception: string; check: string; rule: string; message: string; expiresAt: string }[];
}

/** The exceptions `aegis policy test --exceptions` applies, and why the others waive nothing. */
export interface OfflineExceptions {
  readonly active: readonly AegisException[];
  readonly ignored: readonly { exception: string; why: string }[];
}

/** A non-empty YAML document of a file, numbered from 1 as it appears (empty ones count). */
export interface YamlDocument {
  readonly number: number;
  readonly value: unknown;
}

/** Bad input: `aegis policy test` exits 2 with this one-line message. */
export class PolicyTestInputError extends Error {
  override name = "PolicyTestInputError";
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Reads every YAML document of a file; empty documents (a trailing `---`) are skipped. */
export async function readYamlDocuments(file: string): Promise<YamlDocument[]> {
  const text = await readFile(file, "utf8").catch((error: unknown) => {
    throw new PolicyTestInputError(`cannot read ${file}: ${messageOf(error)}`);
  });
  return parseAllDocuments(text).flatMap((document, index) => {
    const number = index + 1;
    const problem = document.errors[0];
    if (problem !== undefined) {
      throw new PolicyTestInputError(
        `${file}: document ${number} is not valid YAML: ${(problem.message.split("\n")[0] ?? "").replace(/:$/, "")}`,
      );
    }
    let value: unknown;
    try {
      value = document.toJS();
    } catch (error) {
      throw new PolicyTestInputError(`${file}: document ${number} is not valid YAML: ${messageOf(error)}`);
    }
    return value === null || value === undefined ? [] : [{ number, value }];
  });
}

export async function loadPolicies(file: string): Promise<CompiledPolicy[]> {
  const documents = await readYamlDocuments(file);
  if (documents.length === 0) throw new PolicyTestInputError(`${file}: no AegisPolicy found`);
  return documents.map(({ number, value }) => {
    const parsed = aegisPolicySchema.safeParse(value);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
      throw new PolicyTestInputError(`${file}: document ${number} is not a valid AegisPolicy: ${problems}`);
    }
    return compileOrExplain(parsed.data, file, number);
  });
}

function compileOrExplain(policy: AegisPolicy, file: string, number: number): CompiledPolicy {
  try {
    return compilePolicy(policy);
  } catch (error) {
    if (error instanceof PolicyCompileError)
      throw new PolicyTestInputError(`${file}: document ${number}: ${error.message}`, { cause: error });
    throw error;
  }
}

/** One Kubernetes object to decide, with where it came from (`document 2, item 1`). */
export interface Resource {
  readonly file: string;
  readonly where: string;
  readonly object: Record<string, unknown>;
  readonly apiVersion: string;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

function describeValue(value: unknown): string {
  if (Array.isArray(value)) return "a YAML sequence";
  if (value === null) return "null";
  return `a ${typeof value}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function nonEmptyString(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

/**
 * The resources of one document: the document itself, or the items of a `kind: List` (what
 * `kubectl get -o yaml` prints), Lists within Lists too. Throws on anything that is not a
 * Kubernetes object with apiVersion, kind and metadata.name.
 */
function resourcesOf(file: string, where: string, value: unknown): Resource[] {
  const bad = (problem: string): PolicyTestInputError => new PolicyTestInputError(`${file}: ${where}: ${problem}`);
  if (!isObject(value)) throw bad(`a resource must be a Kubernetes object, got ${describeValue(value)}`);
  const apiVersion = nonEmptyString(value["apiVersion"]);
  if (apiVersion === undefined) throw bad("the object has no apiVersion");
  const kind = nonEmptyString(value["kind"]);
  if (kind === undefined) throw bad("the object has no kind");
  if (kind === "List") {
    const items = value["items"];
    if (!Array.isArray(items)) throw bad("a List needs an items sequence");
    return (items as unknown[]).flatMap((item, index) => resourcesOf(file, `${where}, item ${index + 1}`, item));
  }
  const metadata = value["metadata"];
  if (!isObject(metadata)) throw bad(`the ${kind} has no metadata`);
  const name = nonEmptyString(metadata["name"]);
  if (name === undefined) throw bad(`the ${kind} has no metadata.name`);
  const namespace = metadata["namespace"] ?? "default";
  if (typeof namespace !== "string" || namespace === "") throw bad(`the ${kind} has an invalid metadata.namespace`);
  return [{ file, where, object: value, apiVersion, kind, namespace, name }];
}

/** Every resource of the files, in order; a file without any document is bad input. */
export async function readResources(files: readonly string[]): Promise<Resource[]> {
  const resources: Resource[] = [];
  for (const file of files) {
    const documents = await readYamlDocuments(file);
    if (documents.length === 0) throw new PolicyTestInputError(`${file}: no YAML document found`);
    for (const { number, value } of documents) resources.push(...resourcesOf(file, `document ${number}`, value));
  }
  return resources;
}

/**
 * Offline decision for each resource: the engine the webhook runs, checks only. A resource no
 * policy matches is reported as not evaluated, with the engine's reason. Reads every file before
 * deciding, so bad input anywhere throws {@link PolicyTestInputError} before any result.
 */
export async function testResources(
  policies: readonly CompiledPolicy[],
  files: readonly string[],
  exceptions: OfflineExceptions = { active: [], ignored: [] },
): Promise<PolicyTestResult[]> {
  return (await readResources(files)).map((resource) => testOne(policies, resource, exceptions.active));
}

/**
 * Reads AegisExceptions for an offline test. Offline there is no ApprovalRequest to consult, so
 * an exception counts as approved; expiry and validity are enforced as the gate enforces them:
 * one expired at `now`, or that its policies would refuse, waives nothing (and says why).
 */
export async function loadExceptions(
  file: string,
  policies: readonly CompiledPolicy[],
  now: Date,
): Promise<OfflineExceptions> {
  const byName = new Map(policies.map((policy) => [policy.name, policy]));
  const active: AegisException[] = [];
  const ignored: { exception: string; why: string }[] = [];
  for (const { number, value } of await readYamlDocuments(file)) {
    const parsed = aegisExceptionSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new PolicyTestInputError(
        `${file}: document ${number} is not a valid AegisException: ${issue ? `${issue.path.join(".") || "(root)"}: ${issue.message}` : "unreadable"}`,
      );
    }
    const exception = {
      ...parsed.data,
      metadata: { ...parsed.data.metadata, namespace: parsed.data.metadata.namespace ?? "default" },
    };
    const expires = Date.parse(exception.spec.expiresAt);
    const problems =
      Number.isNaN(expires) || expires <= now.getTime()
        ? [`expired at ${exception.spec.expiresAt} (now ${now.toISOString()})`]
        : exceptionProblems(exception, byName, now);
    if (problems.length > 0) ignored.push({ exception: exceptionKey(exception), why: problems.join("; ") });
    else active.push(exception);
  }
  return { active, ignored };
}

function testOne(
  policies: readonly CompiledPolicy[],
  resource: Resource,
  exceptions: readonly AegisException[],
): PolicyTestResult {
  const { file, kind, namespace, name } = resource;
  const request: GateRequest = {
    operation: "CREATE",
    kind,
    apiVersion: resource.apiVersion,
    namespace,
    name,
    object: resource.object,
    oldObject: null,
    user: { username: "aegis-policy-test", groups: [] },
    namespaceLabels: { "kubernetes.io/metadata.name": namespace },
  };
  const labels = (resource.object["metadata"] as { labels?: Record<string, string> } | undefined)?.labels ?? {};
  const { evaluation, waived } = applyExceptions(evaluate(policies, request), exceptions, {
    kind,
    namespace,
    name,
    labels,
    changeHash: () => computeChangeHash(resource.object),
  });
  if (evaluation.matched.length === 0) {
    const reason = unmatchedReason(policies, request) ?? "no policy matches it";
    return { file, kind, namespace, name, allowed: true, evaluated: false, reason, violations: [] };
  }
  return {
    file,
    kind,
    namespace,
    name,
    allowed: evaluation.denied.length === 0,
    evaluated: true,
    violations: [...evaluation.denied, ...evaluation.warnings].map((v) => ({
      check: v.check,
      rule: v.rule,
      message: v.message,
    })),
    ...(waived.length > 0
      ? {
          waived: waived.map((w) => ({
            exception: w.exception,
            check: w.check,
            rule: w.rule,
            message: w.message,
            expiresAt: w.expiresAt,
          })),
        }
      : {}),
  };
}

export function formatResultText(result: PolicyTestResult): string {
  const resource = `${result.kind} ${result.namespace}/${result.name}`;
  if (!result.evaluated) return `${result.file}: NOT EVALUATED ${resource}: ${result.reason ?? "no policy matches it"}`;
  const head = `${result.file}: ${resource}: ${result.allowed ? "allowed" : "denied"}`;
  return [
    head,
    ...result.violations.map((v) => `  - ${v.check} [${v.rule}]: ${v.message}`),
    ...(result.waived ?? []).map(
      (w) => `  ~ ${w.check} [${w.rule}] waived by AegisException ${w.exception} until ${w.expiresAt}: ${w.message}`,
    ),
  ].join("\n");
}

/** `3 resources: 1 allowed, 1 denied, 1 not evaluated`, the last line of the text output. */
export function formatSummaryText(results: readonly PolicyTestResult[]): string {
  const evaluated = results.filter((result) => result.evaluated);
  const denied = evaluated.filter((result) => !result.allowed).length;
  const total = `${results.length} resource${results.length === 1 ? "" : "s"}`;
  return `${total}: ${evaluated.length - denied} allowed, ${denied} denied, ${results.length - evaluated.length} not evaluated`;
}

/** 1 when an evaluated resource is denied, else 0 (bad input exits 2 before any result). */
export function exitCodeOf(results: readonly PolicyTestResult[]): 0 | 1 {
  return results.some((result) => result.evaluated && !result.allowed) ? 1 : 0;
}
