// Finds, with the TypeScript parser (comments and strings are not code), every place src/ can
// talk to the Kubernetes API: calls of a client-node API method (by name, so `LeaseApi`-style
// interfaces count too), the list/watch paths given to informers, and imports from client-node
// that this scan cannot follow.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import * as clientNode from "@kubernetes/client-node";
import ts from "typescript";

/** The user's CLI (runs kubectl or reads with the user's own credentials) and browser code. */
export const NOT_AEGIS_IDENTITY = [
  "src/adapters/kube/subject-reader.ts",
  "src/cli/kubectl-plugin.ts",
  "src/cli/kubectl-aegis.ts",
  "src/cli/risk-report.ts",
  "src/bin/kubectl-aegis.ts",
  "src/dashboard/static/",
];

/**
 * Runtime imports from client-node the scan understands: the API classes whose methods it
 * finds by name, `makeInformer` (its paths are found), and helpers that make no request. Any
 * other (`Watch`, `KubernetesObjectApi`, `Exec`, `Log`, `Metrics`…) is reported.
 */
export const KNOWN_CLIENT_IMPORTS = new Set([
  "AdmissionregistrationV1Api",
  "AuthenticationV1Api",
  "AuthorizationV1Api",
  "CoordinationV1Api",
  "CoreV1Api",
  "CustomObjectsApi",
  "makeInformer",
  "KubeConfig",
  "ApiException",
  "PatchStrategy",
  "setHeaderOptions",
  "V1MicroTime",
]);

const CLIENT_MODULE = "@kubernetes/client-node";

/** Every request-making method of every client-node API class (`readNamespacedSecret`, …). */
export function clientMethodNames(): Set<string> {
  const names = new Set<string>();
  for (const [exported, value] of Object.entries(clientNode)) {
    if (!exported.endsWith("Api") || typeof value !== "function") continue;
    for (const method of Object.getOwnPropertyNames((value as { prototype: object }).prototype)) {
      // Lower-case-only names (`create`, `list`) are KubernetesObjectApi's: its import is reported instead.
      if (method !== "constructor" && /[A-Z]/.test(method)) names.add(method);
    }
  }
  return names;
}

export interface ScanResult {
  /** `file method` and `file path` strings, one per distinct site. */
  readonly sites: Set<string>;
  /** Imports or constructs the scan cannot follow, with where they are. */
  readonly unscannable: string[];
}

export const siteKey = (site: { file: string; method: string } | { file: string; path: string }): string =>
  "method" in site ? `${site.file} ${site.method}` : `${site.file} ${site.path}`;

const KUBE_PATH = /^\/(api\/v1|apis)(\/|$)/;

function literalText(node: ts.Node, source: ts.SourceFile): string | undefined {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  if (ts.isTemplateExpression(node)) return node.getText(source).slice(1, -1);
  return undefined;
}

function scanImport(node: ts.ImportDeclaration, where: string, unscannable: string[]): void {
  if (!ts.isStringLiteral(node.moduleSpecifier) || node.moduleSpecifier.text !== CLIENT_MODULE) return;
  const clause = node.importClause;
  if (!clause || clause.isTypeOnly) return;
  if (clause.name) unscannable.push(`${where}: default import of ${CLIENT_MODULE}`);
  const bindings = clause.namedBindings;
  if (bindings && ts.isNamespaceImport(bindings)) unscannable.push(`${where}: import * from ${CLIENT_MODULE}`);
  if (!bindings || !ts.isNamedImports(bindings)) return;
  for (const element of bindings.elements) {
    const imported = (element.propertyName ?? element.name).text;
    if (!element.isTypeOnly && !KNOWN_CLIENT_IMPORTS.has(imported))
      unscannable.push(`${where}: imports ${imported} from ${CLIENT_MODULE}`);
  }
}

function isDynamicClientImport(node: ts.Node): boolean {
  if (!ts.isCallExpression(node)) return false;
  const callee = node.expression;
  const dynamic = callee.kind === ts.SyntaxKind.ImportKeyword || (ts.isIdentifier(callee) && callee.text === "require");
  const [first] = node.arguments;
  return dynamic && first !== undefined && ts.isStringLiteral(first) && first.text === CLIENT_MODULE;
}

/** Scans one file's text; `file` is its repository-relative path. */
export function scanSource(file: string, text: string, methods: ReadonlySet<string>): ScanResult {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const sites = new Set<string>();
  const unscannable: string[] = [];
  // Paths count where an informer can be built from them (not AEGIS's own REST routes).
  const buildsInformers = /\b(listWatchSource|makeInformer)\b/.test(text);
  const visit = (node: ts.Node): void => {
    const where = `${file}:${source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1}`;
    if (ts.isImportDeclaration(node)) scanImport(node, where, unscannable);
    if (isDynamicClientImport(node)) unscannable.push(`${where}: dynamic import of ${CLIENT_MODULE}`);
    if (ts.isCallExpression(node) && ts.isPropertyAccessExpression(node.expression)) {
      const method = node.expression.name.text;
      if (methods.has(method)) sites.add(siteKey({ file, method }));
    }
    const literal = buildsInformers ? literalText(node, source) : undefined;
    if (literal !== undefined && KUBE_PATH.test(literal)) sites.add(siteKey({ file, path: literal }));
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { sites, unscannable };
}

function sourceFiles(repoRoot: string, directory: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(path.join(repoRoot, directory), { withFileTypes: true })) {
    const relative = `${directory}/${entry.name}`;
    if (NOT_AEGIS_IDENTITY.some((excluded) => relative === excluded || `${relative}/` === excluded)) continue;
    if (entry.isDirectory()) files.push(...sourceFiles(repoRoot, relative));
    else if (/\.(c|m)?tsx?$/.test(entry.name) && !entry.name.endsWith(".d.ts")) files.push(relative);
  }
  return files;
}

/** Scans every TypeScript file under src/ (as it is on disk) but the user's CLI. */
export function scanRepository(repoRoot: string): ScanResult {
  const methods = clientMethodNames();
  const sites = new Set<string>();
  const unscannable: string[] = [];
  for (const file of sourceFiles(repoRoot, "src")) {
    const result = scanSource(file, readFileSync(path.join(repoRoot, file), "utf8"), methods);
    result.sites.forEach((site) => sites.add(site));
    unscannable.push(...result.unscannable);
  }
  return { sites, unscannable };
}
