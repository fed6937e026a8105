// Runs helm (built from tools/helm by scripts/helm.sh) on charts/aegis and parses what it renders.
// Shared by the chart's integration test and its e2e test (e2e/chart.e2e.test.ts).
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseAllDocuments, stringify } from "yaml";
import { runCommand, type CommandResult } from "../../helpers/run-command.js";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
export const chartDir = path.join(repoRoot, "charts", "aegis");

/** A cold build compiles helm and the Kubernetes client libraries: minutes on two cores. */
export const HELM_BUILD_TIMEOUT_MS = 20 * 60_000;

export type HelmResult = CommandResult;

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** `helm ARGS` through scripts/helm.sh; never throws on a non-zero exit. */
export function helm(args: string[]): Promise<HelmResult> {
  return runCommand("bash", [path.join(repoRoot, "scripts", "helm.sh"), ...args], { cwd: repoRoot });
}

/** Builds helm once (cached); throws with the build's output when it fails. */
export async function buildHelm(): Promise<string> {
  const result = await helm(["--build-only"]);
  if (result.code !== 0)
    throw new Error(`scripts/helm.sh --build-only failed (exit ${result.code}):\n${result.stderr}`);
  return result.stdout.trim();
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  /** `--set KEY=VALUE` pairs (helm splits VALUE on commas: use `values` for those). */
  set?: Record<string, string>;
  /** A values file (`-f`), written for this render. */
  values?: Record<string, unknown>;
  includeCrds?: boolean;
}

function setArgs(set: Record<string, string> = {}): string[] {
  return Object.entries(set).flatMap(([key, value]) => ["--set", `${key}=${value}`]);
}

/** `helm template` of charts/aegis; throws with helm's stderr when rendering fails. */
export async function renderChart(options: RenderOptions = {}): Promise<{ text: string; objects: KubeObject[] }> {
  const args = [
    "template",
    options.release ?? "aegis",
    chartDir,
    "--namespace",
    options.namespace ?? "aegis-system",
    ...setArgs(options.set),
  ];
  if (options.includeCrds) args.push("--include-crds");
  const dir = options.values ? await mkdtemp(path.join(tmpdir(), "aegis-chart-")) : undefined;
  try {
    if (dir) {
      const file = path.join(dir, "values.yaml");
      await writeFile(file, stringify(options.values));
      args.push("--values", file);
    }
    const result = await helm(args);
    if (result.code !== 0) throw new Error(`helm ${args.join(" ")} failed (exit ${result.code}):\n${result.stderr}`);
    return { text: result.stdout, objects: parseObjects(result.stdout) };
  } finally {
    if (dir) await rm(dir, { recursive: true, force: true });
  }
}

/** Every non-empty YAML document of a multi-document stream, as Kubernetes objects. */
export function parseObjects(text: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`invalid YAML rendered: ${doc.errors.map((e) => e.message).join("; ")}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    if (!isKubeObject(value))
      throw new Error(`a rendered document is not a Kubernetes object: ${JSON.stringify(value).slice(0, 200)}`);
    objects.push(value);
  }
  return objects;
}

function isKubeObject(value: unknown): value is KubeObject {
  if (typeof value !== "object" || value === null) return false;
  const candidate = value as Partial<KubeObject>;
  return (
    typeof candidate.apiVersion === "string" &&
    typeof candidate.kind === "string" &&
    typeof candidate.metadata?.name === "string"
  );
}

/** The one object of KIND named NAME (throws when absent, so tests read straight on). */
export function findObject<T = KubeObject>(objects: KubeObject[], kind: string, name?: string): T {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ""}, found ${found.length}`);
  return found[0] as T;
}

/** Kinds that live outside any namespace; every other rendered object must name one. */
export const CLUSTER_SCOPED_KINDS = new Set([
  "ClusterRole",
  "ClusterRoleBinding",
  "ValidatingWebhookConfiguration",
  "MutatingWebhookConfiguration",
  "CustomResourceDefinition",
  "Namespace",
  "PriorityClass",
]);
