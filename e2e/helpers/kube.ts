// Small helpers for e2e tests: kubectl and a client-node KubeConfig against the cluster the
// e2e global setup started (its admin kubeconfig comes through `inject("kubeconfig")`).
import { spawn } from "node:child_process";
import { KubeConfig } from "@kubernetes/client-node";
import { inject } from "vitest";

const kubectlBin = process.env["AEGIS_KUBECTL"] ?? "kubectl";

export interface KubectlOptions {
  /** Impersonate this user (`--as`). */
  as?: string;
  /** Impersonate these groups (`--as-group`). */
  asGroups?: string[];
  /** Written to kubectl's stdin (use with `-f -`). */
  input?: string;
  /** Resolve with a non-zero code instead of throwing. */
  allowFail?: boolean;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Absolute path of the admin kubeconfig. */
export function kubeconfigPath(): string {
  const provided = inject("kubeconfig");
  const fromEnv = process.env["KUBECONFIG"];
  const kubeconfig = provided || fromEnv;
  if (!kubeconfig) throw new Error("no kubeconfig: run the e2e project (its global setup starts the cluster)");
  return kubeconfig;
}

function kubectlArgs(args: string[], opts: KubectlOptions): string[] {
  const full = ["--kubeconfig", kubeconfigPath()];
  if (opts.as !== undefined) full.push(`--as=${opts.as}`);
  for (const group of opts.asGroups ?? []) full.push(`--as-group=${group}`);
  // kubectl refuses flags before a plugin's name (`kubectl aegis …`): they go after it there.
  return args[0] === "aegis" ? [...args, ...full] : [...full, ...args];
}

/** Runs kubectl as the admin (or impersonating `as`); throws on failure unless `allowFail`. */
export function kubectl(args: string[], opts: KubectlOptions = {}): Promise<KubectlResult> {
  const full = kubectlArgs(args, opts);
  return new Promise((resolve, reject) => {
    const child = spawn(kubectlBin, full, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    child.on("error", reject);
    child.on("close", (code) => {
      const result = { code: code ?? 1, stdout, stderr };
      if (result.code !== 0 && !opts.allowFail) {
        reject(new Error(`kubectl ${args.join(" ")} exited ${result.code}: ${stderr.trim()}`));
      } else {
        resolve(result);
      }
    });
    child.stdin.end(opts.input ?? "");
  });
}

/**
 * A namespace as the gate suites use it: group developers may `edit` there, group sre-leads may
 * approve (aegis-approver).
 */
export async function createTeamNamespace(namespace: string): Promise<void> {
  await kubectl(["create", "namespace", namespace]);
  await kubectl(["create", "rolebinding", "dev-edit", "--clusterrole=edit", "--group=developers", "-n", namespace]);
  await kubectl([
    "create",
    "rolebinding",
    "approvers",
    "--clusterrole=aegis-approver",
    "--group=sre-leads",
    "-n",
    namespace,
  ]);
}

/** A client-node KubeConfig for the admin kubeconfig. */
export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return kc;
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string,
  { timeoutMs = 60_000, intervalMs = 250 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  const detail = lastError instanceof Error ? `: ${lastError.message}` : "";
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${detail}`);
}

/** Waits until the AegisPolicy's Ready condition is True (AEGIS compiled it). */
export async function policyReady(name: string): Promise<void> {
  await eventually(
    async () =>
      (await kubectl(["get", "apol", name, "-o", "jsonpath={.status.conditions[0].status}"])).stdout === "True"
        ? true
        : undefined,
    `policy ${name} to be Ready`,
  );
}
