// Runs `aegis serve` as a real process against the e2e control plane, under its own
// least-privilege service account (deploy/rbac.yaml), the way a user would run it locally.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "yaml";
import { eventually, kubeconfigPath, kubectl } from "./kube.js";
import { e2eTempDir } from "./tmp.js";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const AEGIS_NAMESPACE = "aegis-system";
export const AEGIS_USERNAME = `system:serviceaccount:${AEGIS_NAMESPACE}:aegis-sa`;

export interface RunningAegisProcess {
  apiUrl: string;
  webhookUrl: string;
  dataDir: string;
  /** The child's process id (for fault tests that signal it). */
  pid: number;
  logs(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

interface StartOptions {
  apiPort?: number;
  webhookPort?: number;
  dataDir?: string;
  env?: Record<string, string>;
}

/** A kubeconfig that authenticates as AEGIS's service account with a bound token. */
export async function aegisKubeconfig(): Promise<string> {
  await kubectl(["apply", "-f", path.join(repoRoot, "deploy", "rbac.yaml")]);
  const token = (await kubectl(["create", "token", "aegis-sa", "-n", AEGIS_NAMESPACE, "--duration=24h"])).stdout.trim();
  const admin = parse(await readFile(kubeconfigPath(), "utf8")) as {
    clusters: { cluster: { server: string; "certificate-authority-data": string } }[];
  };
  const cluster = admin.clusters[0]?.cluster;
  if (!cluster) throw new Error("admin kubeconfig has no cluster");
  const file = path.join(await e2eTempDir("aegis-sa-"), "kubeconfig");
  const kubeconfig = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "local", cluster }],
    users: [{ name: "aegis-sa", user: { token } }],
    contexts: [{ name: "aegis", context: { cluster: "local", user: "aegis-sa" } }],
    "current-context": "aegis",
  };
  await writeFile(file, JSON.stringify(kubeconfig));
  return file;
}

/**
 * The CA of the client certificate the API server presents to webhooks: `scripts/cluster.sh up`
 * leaves it beside the admin kubeconfig. Every e2e AEGIS runs with mutual TLS on, so the API server
 * is proven to reach it that way. A cluster given through AEGIS_E2E_KUBECONFIG (kind) may have none
 * (docs/kind.md): AEGIS then runs without, and warns that it trusts any caller.
 */
export function webhookClientCaPath(): string | undefined {
  const file = path.join(path.dirname(kubeconfigPath()), "webhook-client-ca.crt");
  if (existsSync(file)) return file;
  if (process.env["AEGIS_E2E_KUBECONFIG"]) return undefined;
  throw new Error(`${file} is missing: scripts/cluster.sh up writes it beside the kubeconfig; run it again`);
}

/** Starts `aegis serve` (mutual TLS on, see webhookClientCaPath) and waits until /readyz answers 200. */
export async function startAegisProcess(options: StartOptions = {}): Promise<RunningAegisProcess> {
  const apiPort = options.apiPort ?? 18750;
  const webhookPort = options.webhookPort ?? 19443;
  const dataDir = options.dataDir ?? (await e2eTempDir("aegis-data-"));
  const kubeconfig = await aegisKubeconfig();
  const webhookUrl = `https://127.0.0.1:${webhookPort}`;
  const clientCa = webhookClientCaPath();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      "--import",
      path.join(repoRoot, "node_modules", "tsx", "dist", "loader.mjs"),
      path.join(repoRoot, "src", "cli", "aegis.ts"),
      "serve",
    ],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        KUBECONFIG: kubeconfig,
        AEGIS_WEBHOOK_URL: webhookUrl,
        AEGIS_WEBHOOK_PORT: String(webhookPort),
        AEGIS_WEBHOOK_HOST: "127.0.0.1",
        ...(clientCa ? { AEGIS_WEBHOOK_CLIENT_CA: clientCa } : {}),
        AEGIS_API_PORT: String(apiPort),
        AEGIS_API_HOST: "127.0.0.1",
        AEGIS_DATA_DIR: dataDir,
        AEGIS_LOG_LEVEL: "warn",
        DATABASE_URL: "",
        REDIS_URL: "",
        ...options.env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const apiUrl = `http://127.0.0.1:${apiPort}`;
  try {
    await eventually(
      async () => {
        if (child.exitCode !== null)
          throw new Error(`aegis serve exited with ${child.exitCode}: ${output.slice(-2000)}`);
        const response = await fetch(`${apiUrl}/readyz`).catch(() => undefined);
        return response?.status === 200 ? true : undefined;
      },
      "aegis serve to become ready",
      { timeoutMs: 90_000, intervalMs: 300 },
    );
  } catch (error) {
    child.kill("SIGKILL");
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}\n--- aegis output ---\n${output.slice(-4000)}`,
      { cause: error },
    );
  }
  return {
    apiUrl,
    webhookUrl,
    dataDir,
    pid: child.pid ?? -1,
    logs: () => output,
    stop: async (signal: NodeJS.Signals = "SIGTERM") => {
      if (child.exitCode === null) child.kill(signal);
      // Never leave a replica behind: one that does not stop in 25 s is killed.
      const killer = setTimeout(() => child.kill("SIGKILL"), 25_000);
      await exited;
      clearTimeout(killer);
    },
  };
}

/**
 * The replica's identity (its Lease holderIdentity and event-bus origin), from the line
 * `aegis serve` logs at info when it creates the bus; start it with AEGIS_LOG_LEVEL=info.
 */
export function replicaIdOf(aegis: RunningAegisProcess): string {
  const match = /"replica":"([^"]+)"[^\n]*"msg":"event bus: /.exec(aegis.logs());
  if (!match?.[1])
    throw new Error(
      `no replica id in the logs of aegis at ${aegis.apiUrl} (is AEGIS_LOG_LEVEL info?):\n${aegis.logs().slice(-2000)}`,
    );
  return match[1];
}

/** Break-glass, as documented: without the configuration nothing calls the (stopped) webhook. */
export async function removeWebhookConfiguration(): Promise<void> {
  await kubectl(["delete", "validatingwebhookconfiguration", "aegis", "--ignore-not-found"]);
}

/** Waits until `aegis` holds the controller Lease (its controllers run); start it at log level info. */
export async function leading(aegis: RunningAegisProcess): Promise<void> {
  const replica = replicaIdOf(aegis);
  await eventually(
    async () =>
      (
        await kubectl(
          ["get", "lease", "aegis-controller", "-n", AEGIS_NAMESPACE, "-o", "jsonpath={.spec.holderIdentity}"],
          { allowFail: true },
        )
      ).stdout.trim() === replica
        ? true
        : undefined,
    `${replica} to hold the Lease (a leftover aegis serve holding it blocks this)`,
    { timeoutMs: 45_000 },
  );
}

/** One evidence record as `GET /api/evidence` shows it. */
export interface ApiEvidenceRecord {
  type: string;
  subject: string;
  actor: string;
  data: Record<string, unknown>;
}

/**
 * A token for audience aegis of a new ServiceAccount `name` bound to aegis-approver in
 * `namespace`: someone who may read that namespace's requests and evidence through the REST API.
 */
export async function namespaceReaderToken(namespace: string, name = "auditor"): Promise<string> {
  await kubectl(["create", "serviceaccount", name, "-n", namespace]);
  await kubectl([
    "create",
    "rolebinding",
    name,
    "--clusterrole=aegis-approver",
    `--serviceaccount=${namespace}:${name}`,
    "-n",
    namespace,
  ]);
  return (
    await kubectl(["create", "token", name, "-n", namespace, "--duration=10m", "--audience", "aegis"])
  ).stdout.trim();
}

/** The newest 500 evidence records the REST API shows the token's holder. */
export async function evidenceAs(aegis: RunningAegisProcess, token: string): Promise<ApiEvidenceRecord[]> {
  const response = await fetch(`${aegis.apiUrl}/api/evidence?limit=500`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (!response.ok) throw new Error(`GET /api/evidence answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { items: ApiEvidenceRecord[] }).items;
}
