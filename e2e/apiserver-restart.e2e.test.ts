// Fault: the kube-apiserver restarts under a running AEGIS. Its watches must come back and its
// caches resync, so a policy created after the restart is enforced without restarting AEGIS.
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeWebhookConfiguration, startAegisProcess, type RunningAegisProcess } from "./helpers/aegis.js";
import { eventually, kubeconfigPath, kubectl } from "./helpers/kube.js";

const repo = path.resolve(import.meta.dirname, "..");
const ns = `restart-${randomBytes(3).toString("hex")}`;
const policyName = `${ns}-digest`;
let aegis: RunningAegisProcess;

function restartApiServer(): void {
  const pidFile = path.join(path.dirname(kubeconfigPath()), "run", "kube-apiserver.pid");
  const pid = Number(readFileSync(pidFile, "utf8").trim());
  // A hard stop: a graceful one waits up to a minute for open watches to drain.
  process.kill(pid, "SIGKILL");
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    try {
      process.kill(pid, 0);
    } catch {
      break;
    }
    spawnSync("sleep", ["0.2"]);
  }
  const up = spawnSync("bash", [path.join(repo, "scripts", "cluster.sh"), "up"], {
    encoding: "utf8",
    env: process.env,
  });
  if (up.status !== 0) throw new Error(`cluster.sh up after the restart failed: ${up.stderr}`);
}

beforeAll(async () => {
  await kubectl(["create", "namespace", ns]);
  aegis = await startAegisProcess({ apiPort: 18760, webhookPort: 19460, env: { AEGIS_LOG_LEVEL: "info" } });
}, 180_000);

afterAll(async () => {
  await removeWebhookConfiguration();
  await aegis?.stop();
  await kubectl(["delete", "apol", policyName, "--ignore-not-found"], { allowFail: true });
  await kubectl(["delete", "namespace", ns, "--wait=false"], { allowFail: true });
});

describe("kube-apiserver restart", () => {
  it("AEGIS's watches come back and a policy made afterwards is enforced", async () => {
    restartApiServer();
    await kubectl(["apply", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "aegis.valina.ai/v1alpha1",
        kind: "AegisPolicy",
        metadata: { name: policyName },
        spec: {
          match: { kinds: ["Deployment"], namespaces: [ns] },
          checks: [{ name: "pinned", requireImageDigest: true }],
        },
      }),
    });
    const denial = await eventually<string>(
      async () => {
        const attempt = await kubectl(["create", "deployment", "web", "--image=ghcr.io/acme/web:1", "-n", ns], {
          allowFail: true,
        });
        if (attempt.code === 0) await kubectl(["delete", "deployment", "web", "-n", ns]);
        return attempt.stderr.includes(`${policyName}/pinned`) ? attempt.stderr : undefined;
      },
      "the new policy to be enforced after the restart",
      { timeoutMs: 90_000, intervalMs: 1000 },
    ).catch((error: unknown) => {
      throw new Error(`${String(error)}\n--- aegis ---\n${aegis.logs().slice(-6000)}`, { cause: error });
    });
    expect(denial).toMatch(/not pinned|digest/);
    const ready = await fetch(`${aegis.apiUrl}/readyz`);
    expect(ready.status).toBe(200);
  }, 180_000);
});
