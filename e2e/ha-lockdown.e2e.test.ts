// Two `aegis serve` replicas sharing PostgreSQL and Redis agree on the threat state: a burst of
// denials admitted through one replica locks down both, each asks for the same extra approval,
// and the lockdown's start is recorded once in the shared evidence. Without that, whichever
// replica the API server's webhook call landed on would decide how many approvals a change needs.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeWebhookConfiguration, startAegisProcess, type RunningAegisProcess } from "./helpers/aegis.js";
import { eventually, kubectl } from "./helpers/kube.js";
import { createPrivateRedis, type PrivateRedis } from "../test/integration/redis/private-redis.js";
import { sql } from "./helpers/postgres.js";

const suffix = randomBytes(3).toString("hex");
const ns = `lockdown-${suffix}`;
const policyName = `${ns}-labels`;
const mallory = { as: "mallory", asGroups: ["developers"] };
const DENIALS = 50;
const adminDatabaseUrl = process.env["DATABASE_URL"] || "postgres://aegis:aegis@127.0.0.1:5432/aegis";
const databaseName = `aegis_lockdown_${suffix}`;
const databaseUrl = (() => {
  const url = new URL(adminDatabaseUrl);
  url.pathname = `/${databaseName}`;
  return url.toString();
})();

let replicas: RunningAegisProcess[] = [];
let redis: PrivateRedis;
let oncallToken = "";

interface SecurityStatus {
  mode: string;
  extraApprovals: number;
  lockdown: { since: string; manual: boolean; scope?: string } | null;
}

async function statusOf(replica: RunningAegisProcess): Promise<SecurityStatus> {
  const response = await fetch(`${replica.apiUrl}/api/security/status`, {
    headers: { authorization: `Bearer ${oncallToken}` },
  });
  if (response.status !== 200) throw new Error(`security status: ${response.status} ${await response.text()}`);
  return (await response.json()) as SecurityStatus;
}

function unlabelled(index: number): string {
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: `probe-${index}`, namespace: ns },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "probe" } },
      template: {
        metadata: { labels: { app: "probe" } },
        spec: { containers: [{ name: "c", image: "ghcr.io/acme/web:1" }] },
      },
    },
  });
}

beforeAll(async () => {
  await sql(adminDatabaseUrl, `CREATE DATABASE ${databaseName}`);
  await kubectl(["create", "namespace", ns]);
  await kubectl(["create", "rolebinding", "dev-edit", "--clusterrole=edit", "--group=developers", "-n", ns]);
  await kubectl(["create", "serviceaccount", "oncall", "-n", ns]);
  await kubectl([
    "create",
    "clusterrolebinding",
    `${ns}-oncall`,
    "--clusterrole=aegis-viewer",
    `--serviceaccount=${ns}:oncall`,
  ]);
  oncallToken = (
    await kubectl(["create", "token", "oncall", "-n", ns, "--duration=1h", "--audience", "aegis"])
  ).stdout.trim();
  redis = await createPrivateRedis();
  const env = { DATABASE_URL: databaseUrl, REDIS_URL: redis.url };
  // Sequential: the second start points the webhook configuration at itself, so every admission
  // below is decided by replicas[1] and replicas[0] learns of the threats only through Redis.
  replicas.push(await startAegisProcess({ apiPort: 18771, webhookPort: 19471, env }));
  replicas.push(await startAegisProcess({ apiPort: 18772, webhookPort: 19472, env }));
  await kubectl(["apply", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "aegis.valina.ai/v1alpha1",
      kind: "AegisPolicy",
      metadata: { name: policyName },
      spec: {
        match: { kinds: ["Deployment"], namespaces: [ns] },
        checks: [{ name: "owner", requiredLabels: ["team"] }],
      },
    }),
  });
  await eventually(async () => {
    const attempt = await kubectl(["apply", "-f", "-"], { ...mallory, input: unlabelled(0), allowFail: true });
    return attempt.code !== 0 && attempt.stderr.includes(`${policyName}/owner`) ? true : undefined;
  }, "the policy to deny");
}, 300_000);

afterAll(async () => {
  await removeWebhookConfiguration();
  await Promise.all(replicas.map((replica) => replica.stop()));
  replicas = [];
  await kubectl(["delete", "apol", policyName, "--ignore-not-found"], { allowFail: true });
  await kubectl(["delete", "clusterrolebinding", `${ns}-oncall`, "--ignore-not-found"], { allowFail: true });
  await kubectl(["delete", "namespace", ns, "--wait=false"], { allowFail: true });
  await sql(adminDatabaseUrl, `DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`).catch(() => undefined);
  await redis?.remove();
});

describe("threat state shared by two replicas", () => {
  it("locks down both replicas within 2 s of each other, with the same extra approvals, recorded once", async () => {
    const [idle, deciding] = replicas;
    if (!idle || !deciding) throw new Error("replicas did not start");
    expect((await statusOf(idle)).mode).not.toBe("lockdown");
    for (let index = 1; index < DENIALS; index += 1) {
      const attempt = await kubectl(["apply", "-f", "-"], { ...mallory, input: unlabelled(index), allowFail: true });
      expect(attempt.code).not.toBe(0);
    }
    const seen = new Map<RunningAegisProcess, { at: number; status: SecurityStatus }>();
    await eventually(
      async () => {
        for (const replica of [deciding, idle]) {
          if (seen.has(replica)) continue;
          const status = await statusOf(replica);
          if (status.mode === "lockdown") seen.set(replica, { at: performance.now(), status });
        }
        return seen.size === 2 ? true : undefined;
      },
      "both replicas to report the lockdown",
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    const atIdle = seen.get(idle);
    const atDeciding = seen.get(deciding);
    if (!atIdle || !atDeciding) throw new Error("unreachable");
    console.log(
      JSON.stringify({
        bench: "shared-lockdown-lag",
        lagMs: Math.round(Math.abs(atIdle.at - atDeciding.at)),
      }),
    );
    expect(Math.abs(atIdle.at - atDeciding.at)).toBeLessThanOrEqual(2000);
    expect(atIdle.status.lockdown?.since).toBe(atDeciding.status.lockdown?.since);
    expect(atIdle.status.extraApprovals).toBeGreaterThan(0);
    expect(atIdle.status.extraApprovals).toBe(atDeciding.status.extraApprovals);

    const started = await eventually(async () => {
      const rows = await sql<{ count: string }>(
        databaseUrl,
        `SELECT count(*) AS count FROM evidence_records WHERE subject = 'lockdown' AND data->>'transition' = 'lockdown.started'`,
      );
      const count = Number(rows[0]?.count ?? 0);
      return count > 0 ? count : undefined;
    }, "the lockdown's start in the shared evidence");
    expect(started).toBe(1);
  });
});
