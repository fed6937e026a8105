// `npm run demo`: the main job end to end on a fresh machine (DESIGN §7). Starts the local
// control plane (or uses --context), runs `aegis serve` with embedded storage as its own
// service account, installs a sample policy, and walks a change from denied to approved to
// admitted, then verifies the evidence offline. Every step is printed; exits 0; cleans up.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";

const repo = path.resolve(import.meta.dirname, "..");
const tsxLoader = path.join(repo, "node_modules", "tsx", "dist", "loader.mjs");
const aegisCli = path.join(repo, "src", "cli", "aegis.ts");
const NAMESPACE = "demo-prod";
const DEV = ["--as=dev", "--as-group=developers"];
const ALICE = ["--as=alice", "--as-group=sre-leads"];

const { values: options } = parseArgs({
  options: { context: { type: "string" }, keep: { type: "boolean", default: false } },
});
let step = 0;
const say = (text: string): void => console.log(`\n[${++step}] ${text}`);
const show = (text: string): void =>
  console.log(
    text
      .trim()
      .split("\n")
      .map((line) => `    ${line}`)
      .join("\n"),
  );

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

// The demo runs on embedded storage only: a DATABASE_URL or REDIS_URL in the caller's environment
// (npm test exports both) would make the evidence commands read another ledger than the one
// aegis serve wrote here.
function embeddedEnv(): NodeJS.ProcessEnv {
  const { DATABASE_URL: _databaseUrl, REDIS_URL: _redisUrl, ...env } = process.env;
  return env;
}

function run(command: string, args: string[], input?: string): Run {
  const result = spawnSync(command, args, {
    cwd: repo,
    encoding: "utf8",
    input,
    env: embeddedEnv(),
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error) throw new Error(`${command}: ${result.error.message}`);
  return { code: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

function must(command: string, args: string[], input?: string): string {
  const result = run(command, args, input);
  if (result.code !== 0)
    throw new Error(`${command} ${args.join(" ")} failed (${result.code}):\n${result.stderr || result.stdout}`);
  return result.stdout;
}

const kubectl = (args: string[], input?: string): Run => run("kubectl", args, input);
const mustKubectl = (args: string[], input?: string): string => must("kubectl", args, input);

interface Cluster {
  kubeconfig: string | undefined;
  startedHere: boolean;
  /** The CA of the API server's webhook client certificate (mutual TLS), when known. */
  webhookClientCa: string | undefined;
}

/** The local control plane unless --context names a cluster; returns the kubeconfig and whether we started it. */
function ensureCluster(): Cluster {
  if (options.context) {
    mustKubectl(["config", "use-context", options.context]);
    // Another cluster's API server presents a client certificate only if configured to
    // (README "Who may call the webhook"); then export AEGIS_WEBHOOK_CLIENT_CA yourself.
    return {
      kubeconfig: process.env.KUBECONFIG,
      startedHere: false,
      webhookClientCa: process.env.AEGIS_WEBHOOK_CLIENT_CA || undefined,
    };
  }
  const wasRunning = run("bash", ["scripts/cluster.sh", "status"]).code === 0;
  const output = must("bash", ["scripts/cluster.sh", "up"]);
  const kubeconfig = output.trim().split("\n").pop() ?? "";
  process.env.KUBECONFIG = kubeconfig;
  // The control plane's own kubectl (same release) first on PATH.
  process.env.PATH = `${path.join(path.dirname(kubeconfig), "bin")}${path.delimiter}${process.env.PATH ?? ""}`;
  // cluster.sh leaves the CA of kube-apiserver's webhook client certificate beside the kubeconfig.
  const webhookClientCa = path.join(path.dirname(kubeconfig), "webhook-client-ca.crt");
  if (!existsSync(webhookClientCa)) throw new Error(`scripts/cluster.sh up left no ${webhookClientCa}`);
  return { kubeconfig, startedHere: !wasRunning, webhookClientCa };
}

/** A kubeconfig that authenticates as AEGIS's service account, with a bound token. */
function serviceAccountKubeconfig(workDir: string): string {
  const token = mustKubectl(["create", "token", "aegis-sa", "-n", "aegis-system", "--duration=2h"]).trim();
  const current = JSON.parse(mustKubectl(["config", "view", "--minify", "--raw", "-o", "json"])) as {
    clusters: unknown[];
  };
  const file = path.join(workDir, "aegis-sa.kubeconfig");
  writeFileSync(
    file,
    JSON.stringify({
      ...current,
      users: [{ name: "aegis-sa", user: { token } }],
      contexts: [
        { name: "aegis", context: { cluster: (current.clusters[0] as { name: string }).name, user: "aegis-sa" } },
      ],
      "current-context": "aegis",
    }),
  );
  return file;
}

/** `kubectl aegis` runs this checkout's plugin. */
function installPlugin(workDir: string): void {
  const bin = path.join(workDir, "bin");
  mkdirSync(bin, { recursive: true });
  const wrapper = path.join(bin, "kubectl-aegis");
  writeFileSync(
    wrapper,
    `#!/bin/sh\nexec "${process.execPath}" --import "${tsxLoader}" "${path.join(repo, "src", "cli", "kubectl-aegis.ts")}" "$@"\n`,
  );
  chmodSync(wrapper, 0o755);
  process.env.PATH = `${bin}${path.delimiter}${process.env.PATH ?? ""}`;
}

async function startAegis(
  kubeconfig: string,
  dataDir: string,
  webhookClientCa: string | undefined,
): Promise<{ child: ChildProcess; logs: () => string }> {
  const child = spawn(process.execPath, ["--import", tsxLoader, aegisCli, "serve"], {
    cwd: repo,
    env: {
      ...process.env,
      KUBECONFIG: kubeconfig,
      AEGIS_WEBHOOK_URL: "https://127.0.0.1:9443",
      AEGIS_WEBHOOK_HOST: "127.0.0.1",
      ...(webhookClientCa ? { AEGIS_WEBHOOK_CLIENT_CA: webhookClientCa } : {}),
      AEGIS_API_HOST: "127.0.0.1",
      AEGIS_DATA_DIR: dataDir,
      DATABASE_URL: "",
      REDIS_URL: "",
      AEGIS_LOG_LEVEL: "warn",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`aegis serve exited (${child.exitCode}):\n${output}`);
    const ready = await fetch("http://127.0.0.1:8750/readyz").then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return { child, logs: () => output };
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  child.kill("SIGKILL");
  throw new Error(`aegis serve did not become ready in 120 s:\n${output}`);
}

async function retry<T>(what: string, attempt: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = attempt();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

async function main(): Promise<void> {
  const workDir = mkdtempSync(path.join(tmpdir(), "aegis-demo-"));
  const dataDir = path.join(workDir, "data");
  say(
    options.context
      ? `Using the cluster of context ${options.context}`
      : "Starting the local control plane (etcd, kube-apiserver, kube-controller-manager) on loopback",
  );
  const cluster = ensureCluster();
  let aegis: { child: ChildProcess; logs: () => string } | undefined;
  try {
    say("Installing AEGIS's CRDs and its least-privilege service account");
    for (const file of [
      "crds/aegis.valina.ai_aegispolicies.yaml",
      "crds/aegis.valina.ai_approvalrequests.yaml",
      "crds/aegis.valina.ai_aegisexceptions.yaml",
    ])
      mustKubectl(["apply", "--server-side", "--force-conflicts", "-f", file]);
    mustKubectl(["wait", "--for=condition=established", "--timeout=60s", "-f", "crds/"]);
    mustKubectl(["apply", "-f", "deploy/rbac.yaml"]);
    installPlugin(workDir);

    say("Starting aegis serve with embedded storage (PGlite) as system:serviceaccount:aegis-system:aegis-sa");
    aegis = await startAegis(serviceAccountKubeconfig(workDir), dataDir, cluster.webhookClientCa);
    show("webhook https://127.0.0.1:9443, API http://127.0.0.1:8750, ValidatingWebhookConfiguration 'aegis' installed");
    show(
      cluster.webhookClientCa
        ? `mutual TLS: the webhook serves only callers with a client certificate from ${cluster.webhookClientCa} (the API server's)`
        : "no AEGIS_WEBHOOK_CLIENT_CA: the webhook trusts any caller that can reach it (see docs/security.md)",
    );

    say(
      `Creating namespace ${NAMESPACE}: developers may deploy; developers and sre-leads may patch ApprovalRequests (RBAC)`,
    );
    kubectl(["create", "namespace", NAMESPACE]);
    kubectl(["create", "rolebinding", "developers-edit", "--clusterrole=edit", "--group=developers", "-n", NAMESPACE]);
    kubectl([
      "create",
      "rolebinding",
      "sre-leads-approve",
      "--clusterrole=aegis-approver",
      "--group=sre-leads",
      "--group=developers",
      "-n",
      NAMESPACE,
    ]);

    say("Installing the sample policy examples/policy.yaml");
    mustKubectl(["apply", "-f", "examples/policy.yaml"]);
    await retry("the policy to be Ready", () =>
      kubectl(["get", "apol", "demo-gate", "-o", 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']).stdout ===
      "True"
        ? true
        : undefined,
    );
    show(mustKubectl(["get", "apol", "demo-gate"]));

    say("dev applies a non-compliant Deployment: denied, every violation listed");
    const bad = kubectl(["apply", "-f", "examples/deployment-noncompliant.yaml", ...DEV]);
    if (bad.code === 0) throw new Error("the non-compliant Deployment was admitted");
    show(bad.stderr);

    say("dev applies a compliant Deployment: denied until someone else approves this exact change");
    const denied = kubectl(["apply", "-f", "examples/deployment.yaml", ...DEV]);
    if (denied.code === 0) throw new Error("the change was admitted without approval");
    show(denied.stderr);
    const requestName = /kubectl aegis approve (\S+)/.exec(denied.stderr)?.[1];
    if (!requestName) throw new Error("the denial names no ApprovalRequest");
    await retry("the request to be Pending", () =>
      kubectl(["get", "areq", requestName, "-n", NAMESPACE, "-o", "jsonpath={.status.phase}"]).stdout === "Pending"
        ? true
        : undefined,
    );
    show(mustKubectl(["aegis", "describe", requestName, "-n", NAMESPACE]));

    say("dev, who may patch ApprovalRequests, tries to approve their own change: refused by the webhook");
    show(kubectl(["aegis", "approve", requestName, "-n", NAMESPACE, ...DEV]).stderr);

    say("alice (sre-leads) approves it");
    show(mustKubectl(["aegis", "approve", requestName, "-n", NAMESPACE, "-m", "reviewed in the demo", ...ALICE]));

    say("dev applies the same change again: admitted");
    const admitted = await retry("the approved change to be admitted", () => {
      const attempt = kubectl(["apply", "-f", "examples/deployment.yaml", ...DEV]);
      return attempt.code === 0 ? attempt : undefined;
    });
    show(admitted.stdout);
    show(mustKubectl(["get", "areq", "-n", NAMESPACE]));

    say("Stopping AEGIS (its evidence is flushed) and verifying the evidence offline");
    aegis.child.kill("SIGTERM");
    await new Promise((resolve) => aegis?.child.once("exit", resolve));
    aegis = undefined;
    const bundle = path.join(workDir, "evidence-bundle.json");
    must(process.execPath, [
      "--import",
      tsxLoader,
      aegisCli,
      "evidence",
      "export",
      "--data-dir",
      dataDir,
      "--out",
      bundle,
    ]);
    const records =
      (JSON.parse(readFileSync(bundle, "utf8")) as { records?: { type: string; subject: string; actor: string }[] })
        .records ?? [];
    show(
      records.map((record) => `${record.type.padEnd(20)} ${record.subject.padEnd(48)} by ${record.actor}`).join("\n"),
    );
    // The trust anchor: the public key, read where the key lives (here, the data dir), never from the bundle.
    const trustedKey = path.join(workDir, "evidence-public-key.pem");
    writeFileSync(
      trustedKey,
      must(process.execPath, ["--import", tsxLoader, aegisCli, "evidence", "key", "--data-dir", dataDir]),
    );
    show(readFileSync(trustedKey, "utf8"));
    show(
      must(process.execPath, [
        "--import",
        tsxLoader,
        aegisCli,
        "evidence",
        "verify",
        "--bundle",
        bundle,
        "--public-key",
        trustedKey,
      ]),
    );
    say("Done: denied → approved → admitted → evidence verified");
  } finally {
    if (aegis) aegis.child.kill("SIGKILL");
    if (!options.keep) cleanUp(cluster.startedHere, workDir);
  }
}

function cleanUp(stopCluster: boolean, workDir: string): void {
  kubectl(["delete", "validatingwebhookconfiguration", "aegis", "--ignore-not-found"]);
  kubectl(["delete", "apol", "demo-gate", "--ignore-not-found"]);
  kubectl(["delete", "namespace", NAMESPACE, "--ignore-not-found", "--wait=false"]);
  if (stopCluster) run("bash", ["scripts/cluster.sh", "down"]);
  rmSync(workDir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(`\ndemo failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
