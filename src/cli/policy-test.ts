import { readFile } from "node:fs/promises";
import { parseAllDocuments } from "yaml";
import { aegisPolicySchema, type AegisPolicy } from "../api/v1alpha1/index.js";
import { compilePolicy, evaluate, PolicyCompileError, type CompiledPolicy, type GateRequest } from "../policy/index.js";

/** One element of `aegis policy test --output json` (DESIGN §4). */
export interface PolicyTestResult {
  file: string;
  kind: string;
  namespace: string;
  name: string;
  allowed: boolean;
  violations: { check: string; rule: string; message: string }[];
}

/** Reads every YAML document of a file; empty documents (a trailing `---`) are skipped. */
export async function readYamlDocuments(file: string): Promise<unknown[]> {
  const text = await readFile(file, "utf8").catch((error: unknown) => {
    throw new Error(`cannot read ${file}: ${error instanceof Error ? error.message : String(error)}`);
  });
  return parseAllDocuments(text).flatMap((document, index) => {
    if (document.errors.length > 0) {
      throw new Error(
        `${file}: document ${index + 1} is not valid YAML: ${document.errors[0]?.message ?? "parse error"}`,
      );
    }
    const value: unknown = document.toJS();
    return value === null || value === undefined ? [] : [value];
  });
}

export async function loadPolicies(file: string): Promise<CompiledPolicy[]> {
  const documents = await readYamlDocuments(file);
  if (documents.length === 0) throw new Error(`${file}: no AegisPolicy found`);
  return documents.map((document, index) => {
    const parsed = aegisPolicySchema.safeParse(document);
    if (!parsed.success) {
      const problems = parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`).join("; ");
      throw new Error(`${file}: document ${index + 1} is not a valid AegisPolicy: ${problems}`);
    }
    return compileOrExplain(parsed.data, file);
  });
}

function compileOrExplain(policy: AegisPolicy, file: string): CompiledPolicy {
  try {
    return compilePolicy(policy);
  } catch (error) {
    if (error instanceof PolicyCompileError) throw new Error(`${file}: ${error.message}`, { cause: error });
    throw error;
  }
}

/** Offline decision for each resource document: the engine the webhook runs, checks only. */
export async function testResources(
  policies: readonly CompiledPolicy[],
  files: readonly string[],
): Promise<PolicyTestResult[]> {
  const results: PolicyTestResult[] = [];
  for (const file of files) {
    for (const document of await readYamlDocuments(file)) {
      results.push(testOne(policies, file, document));
    }
  }
  return results;
}

function testOne(policies: readonly CompiledPolicy[], file: string, document: unknown): PolicyTestResult {
  if (typeof document !== "object" || document === null || Array.isArray(document)) {
    throw new Error(
      `${file}: a resource document must be a Kubernetes object, got ${Array.isArray(document) ? "a list" : typeof document}`,
    );
  }
  const object = document as Record<string, unknown>;
  const metadata = (object.metadata ?? {}) as { name?: unknown; namespace?: unknown };
  const kind = typeof object.kind === "string" ? object.kind : "";
  if (!kind) throw new Error(`${file}: a resource document has no kind`);
  const namespace = typeof metadata.namespace === "string" ? metadata.namespace : "default";
  const name = typeof metadata.name === "string" ? metadata.name : "";
  const request: GateRequest = {
    operation: "CREATE",
    kind,
    apiVersion: typeof object.apiVersion === "string" ? object.apiVersion : "",
    namespace,
    name,
    object,
    oldObject: null,
    user: { username: "aegis-policy-test", groups: [] },
    namespaceLabels: { "kubernetes.io/metadata.name": namespace },
  };
  const evaluation = evaluate(policies, request);
  return {
    file,
    kind,
    namespace,
    name,
    allowed: evaluation.denied.length === 0,
    violations: [...evaluation.denied, ...evaluation.warnings].map((v) => ({
      check: v.check,
      rule: v.rule,
      message: v.message,
    })),
  };
}

export function formatResultText(result: PolicyTestResult): string {
  const head = `${result.file}: ${result.kind} ${result.namespace}/${result.name}: ${result.allowed ? "allowed" : "denied"}`;
  return [head, ...result.violations.map((v) => `  - ${v.check} [${v.rule}]: ${v.message}`)].join("\n");
}
