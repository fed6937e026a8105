// Vitest global setup for the e2e project: makes sure the local cluster runs, control plane and
// node (`scripts/cluster.sh up`, idempotent and cached), hands its admin kubeconfig to the tests
// (`inject("kubeconfig")` and KUBECONFIG), and installs AEGIS's CRDs from `crds/`.
// Teardown leaves the cluster running so the next run reuses it; `npm run cluster:down` stops it.
// AEGIS_E2E_KUBECONFIG=/path/to/kubeconfig skips the local control plane and uses that cluster
// instead (for example a kind cluster, see docs/kind.md).
import { spawn } from "node:child_process";
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { TestProject } from "vitest/node";
import { E2E_TMPDIR_ENV } from "../helpers/tmp.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");

interface RunResult {
  code: number;
  stdout: string;
}

/** Runs a command; its stderr goes to ours (progress), its stdout is collected. */
function run(cmd: string, args: string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "inherit"] });
    let stdout = "";
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, stdout }));
  });
}

async function mustRun(what: string, cmd: string, args: string[]): Promise<string> {
  const result = await run(cmd, args);
  if (result.code !== 0) {
    throw new Error(`e2e setup: ${what} failed (exit ${result.code}): ${cmd} ${args.join(" ")}`);
  }
  return result.stdout;
}

const kubectlBin = (): string => process.env["AEGIS_KUBECTL"] ?? "kubectl";

async function clusterUp(): Promise<string> {
  const preset = process.env["AEGIS_E2E_KUBECONFIG"];
  if (preset) return path.resolve(preset);
  const stdout = await mustRun("cluster:up", "bash", [path.join(repoRoot, "scripts", "cluster.sh"), "up"]);
  const last = stdout.trim().split("\n").pop()?.trim();
  if (!last) throw new Error("e2e setup: scripts/cluster.sh up printed no kubeconfig path");
  return last;
}

async function crdFiles(): Promise<string[]> {
  const dir = path.join(repoRoot, "crds");
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith(".yaml") || n.endsWith(".yml"))
    .sort()
    .map((n) => path.join(dir, n));
}

async function installCrds(kubeconfig: string): Promise<void> {
  const files = await crdFiles();
  for (const file of files) {
    await mustRun(`applying ${file}`, kubectlBin(), [
      "--kubeconfig",
      kubeconfig,
      "apply",
      "--server-side",
      "--force-conflicts",
      "--field-manager=aegis-e2e",
      "-f",
      file,
    ]);
  }
  for (const file of files) {
    await mustRun(`waiting for the CRDs of ${file} to be Established`, kubectlBin(), [
      "--kubeconfig",
      kubeconfig,
      "wait",
      "--for=condition=established",
      "--timeout=120s",
      "-f",
      file,
    ]);
  }
}

/**
 * Puts the control plane's own kubectl (same release as the API server) and a `kubectl-aegis`
 * wrapper running this checkout's plugin first on PATH, so tests run `kubectl aegis …` as users do.
 */
async function preparePath(kubeconfig: string): Promise<void> {
  const pluginDir = path.join(repoRoot, "e2e", ".cache", "plugins");
  await mkdir(pluginDir, { recursive: true });
  const wrapper = path.join(pluginDir, "kubectl-aegis");
  const tsxLoader = path.join(repoRoot, "node_modules", "tsx", "dist", "loader.mjs");
  const entry = path.join(repoRoot, "src", "cli", "kubectl-aegis.ts");
  await writeFile(wrapper, `#!/bin/sh\nexec node --import "${tsxLoader}" "${entry}" "$@"\n`);
  await chmod(wrapper, 0o755);
  const controlPlaneBin = path.join(path.dirname(kubeconfig), "bin");
  const dirs = [pluginDir, ...(existsSync(path.join(controlPlaneBin, "kubectl")) ? [controlPlaneBin] : [])];
  process.env["PATH"] = [...dirs, process.env["PATH"] ?? ""].join(path.delimiter);
}

let runTmpDir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  runTmpDir = await mkdtemp(path.join(tmpdir(), "aegis-e2e-run-"));
  process.env[E2E_TMPDIR_ENV] = runTmpDir;
  const kubeconfig = await clusterUp();
  await preparePath(kubeconfig);
  process.env["KUBECONFIG"] = kubeconfig;
  project.provide("kubeconfig", kubeconfig);
  await installCrds(kubeconfig);
  // A configuration left by an aborted run would send every workload change to a webhook
  // that no longer runs (failurePolicy Fail); tests that start AEGIS create it afresh.
  await mustRun("removing a stale webhook configuration", kubectlBin(), [
    "--kubeconfig",
    kubeconfig,
    "delete",
    "validatingwebhookconfiguration",
    "aegis",
    "--ignore-not-found",
  ]);
}

export async function teardown(): Promise<void> {
  // The cluster is shared between runs; `npm run cluster:down` stops it. The run's temporary
  // folders (data dirs, kubeconfigs, bundles) go.
  if (runTmpDir && !process.env["AEGIS_E2E_KEEP_TMP"]) await rm(runTmpDir, { recursive: true, force: true });
}
