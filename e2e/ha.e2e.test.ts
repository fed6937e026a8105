// Two `aegis serve` replicas against one kube-apiserver, sharing PostgreSQL (evidence) and Redis
// (event bus), as DESIGN §4 runs them for HA: one leader through the Lease, failover after the
// leader dies, every approval transition recorded once, decisions visible on every replica.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AEGIS_NAMESPACE,
  removeWebhookConfiguration,
  replicaIdOf,
  startAegisProcess,
  type RunningAegisProcess,
} from "./helpers/aegis.js";
import { eventually, kubectl } from "./helpers/kube.js";
import { createPrivateRedis, type PrivateRedis } from "../test/integration/redis/private-redis.js";
import { sql } from "./helpers/postgres.js";

const suffix = randomBytes(3).toString("hex");
const ns = `ha-${suffix}`;
const shortNs = `ha-short-${suffix}`;
const policyName = `${ns}-gate`;
const shortPolicyName = `${ns}-short`;
const LEASE = "aegis-controller";
const adminDatabaseUrl = process.env["DATABASE_URL"] || "postgres://aegis:aegis@127.0.0.1:5432/aegis";
const databaseName = `aegis_ha_${suffix}`;
const databaseUrl = (() => {
  const url = new URL(adminDatabaseUrl);
  url.pathname = `/${databaseName}`;
  return url.toString();
})();
const dev = { as: "dev", asGroups: ["developers"] };
const approverUser = `system:serviceaccount:${ns}:approver`;

interface Replica {
  process: RunningAegisProcess;
  id: string;
}

let replicas: Replica[] = [];
let approverToken = "";
// A Redis of this file's own: the last test stops it without disturbing other suites.
let redis: PrivateRedis;

function deployment(name: string, namespace: string, image: string): string {
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "web", image }] } },
    },
  });
}

function gatePolicy(name: string, namespace: string, expiresAfter: string): string {
  return JSON.stringify({
    apiVersion: "aegis.valina.ai/v1alpha1",
    kind: "AegisPolicy",
    metadata: { name },
    spec: {
      enforcement: "Enforce",
      match: { kinds: ["Deployment"], namespaces: [namespace] },
      checks: [],
      approval: {
        mode: "Always",
        minApprovals: 1,
        approvers: { users: [approverUser], groups: ["sre-leads"] },
        expiresAfter,
      },
    },
  });
}

function requestNameFrom(message: string): string {
  const match = /ApprovalRequest [^/]+\/(\S+) is/.exec(message);
  if (!match?.[1]) throw new Error(`no ApprovalRequest named in: ${message}`);
  return match[1];
}

/** Applies until the gate denies with a request name (the webhook may still be settling). */
async function deniedRequest(manifest: string): Promise<string> {
  return eventually(async () => {
    const result = await kubectl(["apply", "-f", "-"], { ...dev, input: manifest, allowFail: true });
    return result.code !== 0 && result.stderr.includes("ApprovalRequest") ? requestNameFrom(result.stderr) : undefined;
  }, "the gate to deny and name an ApprovalRequest");
}

async function leaseHolder(): Promise<string> {
  return (
    await kubectl(["get", "lease", LEASE, "-n", AEGIS_NAMESPACE, "-o", "jsonpath={.spec.holderIdentity}"], {
      allowFail: true,
    })
  ).stdout.trim();
}

/**
 * Points the shared webhook configuration at `replica` when it named the killed one: every
 * replica serves the webhook, but the configuration names whichever wrote it last.
 */
async function pointWebhookAt(replica: Replica): Promise<void> {
  const configuration = JSON.parse(
    (await kubectl(["get", "validatingwebhookconfiguration", "aegis", "-o", "json"])).stdout,
  ) as { webhooks: { clientConfig: { url?: string } }[] };
  const patch = configuration.webhooks.flatMap((webhook, index) => {
    const url = webhook.clientConfig.url ?? "";
    return url.startsWith(replica.process.webhookUrl)
      ? []
      : [
          {
            op: "replace",
            path: `/webhooks/${index}/clientConfig/url`,
            value: url.replace(/^https:\/\/[^/]+/, replica.process.webhookUrl),
          },
        ];
  });
  if (patch.length > 0)
    await kubectl(["patch", "validatingwebhookconfiguration", "aegis", "--type=json", "-p", JSON.stringify(patch)]);
}

async function approve(replica: Replica, namespace: string, name: string): Promise<Response> {
  return fetch(`${replica.process.apiUrl}/api/approvals/${namespace}/${name}/approve`, {
    method: "POST",
    headers: { authorization: `Bearer ${approverToken}`, "content-type": "application/json" },
    body: JSON.stringify({ comment: "ha test" }),
  });
}

async function metric(replica: Replica, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${replica.process.apiUrl}/metrics`)).text();
  const line = text.split("\n").find((candidate) => candidate.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(" ")[1]);
}

async function phaseAt(replica: Replica, namespace: string, name: string): Promise<string | undefined> {
  const response = await fetch(`${replica.process.apiUrl}/api/approvals/${namespace}/${name}`, {
    headers: { authorization: `Bearer ${approverToken}` },
  });
  if (response.status !== 200) return undefined;
  return ((await response.json()) as { phase?: string }).phase;
}

beforeAll(async () => {
  await sql(adminDatabaseUrl, `CREATE DATABASE ${databaseName}`);
  for (const namespace of [ns, shortNs]) {
    await kubectl(["create", "namespace", namespace]);
    await kubectl(["create", "rolebinding", "dev-edit", "--clusterrole=edit", "--group=developers", "-n", namespace]);
  }
  await kubectl(["create", "serviceaccount", "approver", "-n", ns]);
  redis = await createPrivateRedis();
  const env = { DATABASE_URL: databaseUrl, REDIS_URL: redis.url, AEGIS_LOG_LEVEL: "info" };
  // Sequential: the second start rewrites the webhook configuration to point at itself.
  const first = await startAegisProcess({ apiPort: 18761, webhookPort: 19461, env });
  const second = await startAegisProcess({ apiPort: 18762, webhookPort: 19462, env });
  replicas = [first, second].map((process) => ({ process, id: replicaIdOf(process) }));
  await kubectl([
    "create",
    "rolebinding",
    "approver",
    "--clusterrole=aegis-approver",
    `--serviceaccount=${ns}:approver`,
    "-n",
    ns,
  ]);
  // Reads are scoped by RBAC too: the approver may view the short-lived requests' namespace.
  await kubectl([
    "create",
    "rolebinding",
    "approver-view",
    "--clusterrole=view",
    `--serviceaccount=${ns}:approver`,
    "-n",
    shortNs,
  ]);
  approverToken = (
    await kubectl(["create", "token", "approver", "-n", ns, "--duration=1h", "--audience", "aegis"])
  ).stdout.trim();
  await kubectl(["apply", "-f", "-"], { input: gatePolicy(policyName, ns, "1h") });
  await kubectl(["apply", "-f", "-"], { input: gatePolicy(shortPolicyName, shortNs, "6s") });
  for (const name of [policyName, shortPolicyName]) {
    await eventually(
      async () =>
        (await kubectl(["get", "apol", name, "-o", "jsonpath={.status.conditions[0].status}"])).stdout === "True"
          ? true
          : undefined,
      `${name} to be Ready`,
    );
  }
}, 300_000);

afterAll(async () => {
  await removeWebhookConfiguration();
  await Promise.all(replicas.map((replica) => replica.process.stop()));
  await kubectl(["delete", "apol", policyName, shortPolicyName, "--ignore-not-found"], { allowFail: true });
  await kubectl(["delete", "namespace", ns, shortNs, "--wait=false"], { allowFail: true });
  await sql(adminDatabaseUrl, `DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`).catch(() => undefined);
  await redis?.remove();
});

describe("two replicas sharing PostgreSQL and Redis", () => {
  let leader: Replica;
  let follower: Replica;

  it("exactly one replica holds the Lease aegis-controller", async () => {
    const holder = await eventually(
      async () => {
        const current = await leaseHolder();
        return replicas.some((replica) => replica.id === current) ? current : undefined;
      },
      `one of ${replicas.map((replica) => replica.id).join(", ")} to hold the Lease (a leftover aegis serve holding it blocks this)`,
      { timeoutMs: 45_000 },
    );
    const [first, second] = replicas as [Replica, Replica];
    [leader, follower] = first.id === holder ? [first, second] : [second, first];
    // Held steadily by the same one: several renewals (every 2 s) later, nobody else took it.
    for (let i = 0; i < 6; i += 1) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect(await leaseHolder()).toBe(holder);
    }
    expect(leader.process.logs()).toMatch(/"msg":"leading: controllers started"/);
    expect(follower.process.logs()).not.toMatch(/"msg":"leading: controllers started"/);
  });

  it("shows an approval made through one replica on the other within 1 second", async () => {
    const name = await deniedRequest(deployment("web", ns, "ghcr.io/acme/web:1.0"));
    await eventually(
      async () =>
        (await phaseAt(follower, ns, name)) === "Pending" && (await phaseAt(leader, ns, name)) === "Pending"
          ? true
          : undefined,
      "both replicas to list the request as Pending",
    );

    // Through the follower's REST API; the leader's API must report it.
    for (const [through, other] of [
      [follower, leader],
      [leader, follower],
    ] as const) {
      const target = through === follower ? name : await deniedRequest(deployment("api", ns, "ghcr.io/acme/api:2.0"));
      await eventually(
        async () =>
          (await phaseAt(other, ns, target)) === "Pending" && (await phaseAt(through, ns, target)) === "Pending"
            ? true
            : undefined,
        "the request to be Pending on both",
      );
      const decidedAt = performance.now();
      const response = await approve(through, ns, target);
      expect(response.status, await response.clone().text()).toBe(200);
      const recordedAt = performance.now();
      await eventually(
        async () => ((await phaseAt(other, ns, target)) === "Approved" ? true : undefined),
        "the other replica to report Approved",
        { timeoutMs: 5000, intervalMs: 10 },
      );
      const visibleAt = performance.now();
      console.log(
        `approval through ${through === leader ? "leader" : "follower"}: POST took ${(recordedAt - decidedAt).toFixed(0)} ms, visible on the other replica ${(visibleAt - recordedAt).toFixed(0)} ms after it returned (${(visibleAt - decidedAt).toFixed(0)} ms after the POST began)`,
      );
      expect(visibleAt - recordedAt).toBeLessThan(1000);
    }
    // The leader reconciles the transition into status, once.
    await eventually(
      async () =>
        (await kubectl(["get", "areq", name, "-n", ns, "-o", "jsonpath={.status.phase}"])).stdout === "Approved"
          ? true
          : undefined,
      "status.phase Approved",
    );
    // Hints crossed Redis both ways: the follower's decision to the leader, the leader's transitions to the follower.
    for (const replica of [leader, follower]) {
      await eventually(
        async () => (((await metric(replica, "aegis_bus_received_total")) ?? 0) > 0 ? true : undefined),
        "hints from the other replica",
      );
      expect(await metric(replica, "aegis_bus_malformed_total")).toBe(0);
    }
  });

  let duringOutage = "";

  it("fails over to the other replica within 20 s of the leader being SIGKILLed, and the new leader expires what came due meanwhile", async () => {
    const expiring = await deniedRequest(deployment("short", shortNs, "ghcr.io/acme/short:1.0"));
    // Decided later, while Redis is down (the last test), when the webhook may have no live target.
    duringOutage = await deniedRequest(deployment("outage", ns, "ghcr.io/acme/outage:1.0"));
    await eventually(
      async () =>
        (await kubectl(["get", "areq", expiring, "-n", shortNs, "-o", "jsonpath={.status.phase}"])).stdout === "Pending"
          ? true
          : undefined,
      "the short-lived request to be Pending",
    );

    const killedAt = performance.now();
    await leader.process.stop("SIGKILL");
    const takeover = await eventually(
      async () => ((await leaseHolder()) === follower.id ? performance.now() : undefined),
      "the surviving replica to take the Lease",
      { timeoutMs: 40_000, intervalMs: 100 },
    );
    const failoverMs = takeover - killedAt;
    console.log(
      `failover: ${follower.id} holds the Lease ${(failoverMs / 1000).toFixed(1)} s after the leader was SIGKILLed`,
    );
    expect(failoverMs).toBeLessThan(20_000);
    await eventually(
      () =>
        Promise.resolve(follower.process.logs().includes('"msg":"leading: controllers started"') ? true : undefined),
      "the new leader to start its controllers",
    );
    await pointWebhookAt(follower);

    await eventually(
      async () =>
        (await kubectl(["get", "areq", expiring, "-n", shortNs, "-o", "jsonpath={.status.phase}"])).stdout === "Expired"
          ? true
          : undefined,
      "the request to be Expired by the new leader",
      { timeoutMs: 30_000 },
    );
  });

  it("records each transition and expiry exactly once in the shared evidence", async () => {
    type Row = { subject: string; phase: string; type: string; count: string };
    const counts = async (): Promise<Row[]> =>
      sql<Row>(
        databaseUrl,
        `SELECT subject, data->>'to' AS phase, type, count(*)::text AS count FROM evidence_records
          WHERE type IN ('approval.transition', 'approval.expired') AND (subject LIKE $1 OR subject LIKE $2)
          GROUP BY subject, data->>'to', type ORDER BY subject, phase`,
        // Only this test's requests: the leader reconciles every request in the cluster, other files' leftovers too.
        [`ApprovalRequest/${ns}/%`, `ApprovalRequest/${shortNs}/%`],
      );
    // Spooled records of the surviving replica drain asynchronously; wait for the expiry.
    const rows = await eventually(async () => {
      const current = await counts();
      return current.some((row) => row.type === "approval.expired") ? current : undefined;
    }, "the expiry to reach PostgreSQL");
    // A new leader re-reconciles everything it finds: still one record per transition.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(await counts()).toEqual(rows);
    for (const row of rows) expect(row.count, `${row.subject} ${row.phase}`).toBe("1");
    const summary = rows.map((row) => `${row.subject.replace(/^ApprovalRequest\/[^/]+\//, "")}:${row.phase}`);
    expect(summary.filter((entry) => entry.startsWith("deployment-web-"))).toEqual([
      expect.stringMatching(/:Approved$/),
      expect.stringMatching(/:Pending$/),
    ]);
    expect(summary.filter((entry) => entry.startsWith("deployment-api-"))).toEqual([
      expect.stringMatching(/:Approved$/),
      expect.stringMatching(/:Pending$/),
    ]);
    expect(summary.filter((entry) => entry.startsWith("deployment-short-"))).toEqual([
      expect.stringMatching(/:Expired$/),
      expect.stringMatching(/:Pending$/),
    ]);
    const expired = rows.find((row) => row.type === "approval.expired");
    expect(expired?.phase).toBe("Expired");
  });

  it("keeps serving through a Redis outage and rejoins the bus when Redis returns", async () => {
    expect(await metric(follower, "aegis_bus_connected")).toBe(1);
    await redis.kill();
    await eventually(
      async () => ((await metric(follower, "aegis_bus_connected")) === 0 ? true : undefined),
      "the bus to report the outage",
    );
    await eventually(
      async () => ((await phaseAt(follower, ns, duringOutage)) === "Pending" ? true : undefined),
      "the request to be listed",
    );

    const response = await approve(follower, ns, duringOutage);
    expect(response.status, await response.clone().text()).toBe(200);
    await eventually(
      async () =>
        (await kubectl(["get", "areq", duringOutage, "-n", ns, "-o", "jsonpath={.status.phase}"])).stdout === "Approved"
          ? true
          : undefined,
      "the leader to reconcile the decision without Redis",
    );
    expect((await fetch(`${follower.process.apiUrl}/readyz`)).status).toBe(200);
    expect(await metric(follower, "aegis_bus_publish_failures_total")).toBeGreaterThan(0);

    await redis.start();
    await eventually(
      async () => ((await metric(follower, "aegis_bus_connected")) === 1 ? true : undefined),
      "the bus to reconnect",
      { timeoutMs: 20_000 },
    );
    expect(follower.process.logs()).toMatch(/Redis bus: connection lost/);
    expect(follower.process.logs()).toMatch(/Redis bus: connected again/);
    expect(follower.process.logs()).not.toMatch(/Unhandled error event/);
  });
});
