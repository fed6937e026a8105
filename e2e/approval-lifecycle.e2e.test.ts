// An ApprovalRequest's life end to end (DESIGN §2, §3): Pending → Expired by the leader after
// `approval.expiresAfter` (status, evidence, a Kubernetes Event), replaced by a fresh request on
// the next apply of the same change, then Rejected by an approver, after which the change stays
// denied and the denial says why.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeWebhookConfiguration, leading, startAegisProcess, type RunningAegisProcess } from "./helpers/aegis.js";
import { eventually, kubectl, policyReady } from "./helpers/kube.js";
import { sql } from "./helpers/postgres.js";

const suffix = randomBytes(3).toString("hex");
const ns = `lifecycle-${suffix}`;
const policyName = `${ns}-gate`;
const adminDatabaseUrl = process.env["DATABASE_URL"] || "postgres://aegis:aegis@127.0.0.1:5432/aegis";
const databaseName = `aegis_lifecycle_${suffix}`;
const databaseUrl = (() => {
  const url = new URL(adminDatabaseUrl);
  url.pathname = `/${databaseName}`;
  return url.toString();
})();
const dev = { as: "dev", asGroups: ["developers"] };
const alice = { as: "alice", asGroups: ["sre-leads"] };
const EXPIRES_AFTER_SECONDS = 5;

const manifest = JSON.stringify({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "web", namespace: ns },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: "web" } },
    template: {
      metadata: { labels: { app: "web" } },
      spec: { containers: [{ name: "web", image: "ghcr.io/acme/web:1.0" }] },
    },
  },
});

interface RequestObject {
  metadata: { uid: string; creationTimestamp: string };
  status?: { phase?: string; expiresAt?: string; conditions?: { type: string; status: string; reason: string }[] };
}

let aegis: RunningAegisProcess;

async function getRequest(name: string): Promise<RequestObject | undefined> {
  const result = await kubectl(["get", "areq", name, "-n", ns, "-o", "json"], { allowFail: true });
  return result.code === 0 ? (JSON.parse(result.stdout) as RequestObject) : undefined;
}

async function requestInPhase(name: string, phase: string, timeoutMs = 30_000): Promise<RequestObject> {
  return eventually(
    async () => {
      const request = await getRequest(name);
      return request?.status?.phase === phase ? request : undefined;
    },
    `ApprovalRequest ${name} to be ${phase}`,
    { timeoutMs, intervalMs: 100 },
  );
}

const apply = () => kubectl(["apply", "-f", "-"], { ...dev, input: manifest, allowFail: true });

function requestNameFrom(message: string): string {
  const match = /ApprovalRequest [^/]+\/(\S+) (is|was)/.exec(message);
  if (!match?.[1]) throw new Error(`no ApprovalRequest named in: ${message}`);
  return match[1];
}

async function evidence(subject: string): Promise<{ type: string; to: string; actor: string }[]> {
  return sql(
    databaseUrl,
    `SELECT type, data->>'to' AS "to", actor FROM evidence_records WHERE subject = $1 AND type IN ('approval.transition', 'approval.expired') ORDER BY seq`,
    [subject],
  );
}

beforeAll(async () => {
  await sql(adminDatabaseUrl, `CREATE DATABASE ${databaseName}`);
  await kubectl(["create", "namespace", ns]);
  await kubectl(["create", "rolebinding", "dev-edit", "--clusterrole=edit", "--group=developers", "-n", ns]);
  aegis = await startAegisProcess({
    apiPort: 18771,
    webhookPort: 19471,
    env: { DATABASE_URL: databaseUrl, AEGIS_LOG_LEVEL: "info" },
  });
  // Expiry is the leader's job and its evidence goes to the leader's database: lead first.
  await leading(aegis);
  await kubectl(["create", "rolebinding", "approvers", "--clusterrole=aegis-approver", "--group=sre-leads", "-n", ns]);
  await kubectl(["apply", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "aegis.valina.ai/v1alpha1",
      kind: "AegisPolicy",
      metadata: { name: policyName },
      spec: {
        enforcement: "Enforce",
        match: { kinds: ["Deployment"], namespaces: [ns] },
        checks: [],
        approval: {
          mode: "Always",
          minApprovals: 1,
          approvers: { groups: ["sre-leads"] },
          expiresAfter: `${EXPIRES_AFTER_SECONDS}s`,
        },
      },
    }),
  });
  await policyReady(policyName);
}, 300_000);

afterAll(async () => {
  await removeWebhookConfiguration();
  await aegis?.stop();
  await kubectl(["delete", "apol", policyName, "--ignore-not-found"], { allowFail: true });
  await kubectl(["delete", "namespace", ns, "--wait=false"], { allowFail: true });
  await sql(adminDatabaseUrl, `DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`).catch(() => undefined);
});

describe("an ApprovalRequest's lifecycle", () => {
  let name = "";
  let firstUid = "";

  it("denies the change and makes a Pending request that expires after expiresAfter", async () => {
    const denied = await eventually(async () => {
      const result = await apply();
      return result.code !== 0 && result.stderr.includes("ApprovalRequest") ? result : undefined;
    }, "the gate to deny the apply");
    expect(denied.stderr).toMatch(/is Pending; approve with: kubectl aegis approve/);
    name = requestNameFrom(denied.stderr);
    const pending = await requestInPhase(name, "Pending");
    firstUid = pending.metadata.uid;
    const expiresAt = Date.parse(pending.status?.expiresAt ?? "");
    const created = Date.parse(pending.metadata.creationTimestamp);
    expect(expiresAt - created).toBeGreaterThanOrEqual(EXPIRES_AFTER_SECONDS * 1000 - 1000);
    expect(expiresAt - created).toBeLessThanOrEqual(EXPIRES_AFTER_SECONDS * 1000 + 1000);

    const expired = await requestInPhase(name, "Expired", 20_000);
    const expiredSeenAt = Date.now();
    // The leader requeues the request for its expiry instant: well within a few seconds of it.
    expect(expiredSeenAt - expiresAt).toBeLessThan(5000);
    expect(expired.metadata.uid).toBe(firstUid);
    expect(expired.status?.conditions).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: "Decided", status: "True", reason: "Expired" })]),
    );
  });

  it("records the expiry once as evidence and as a Kubernetes Event on the request", async () => {
    const subject = `ApprovalRequest/${ns}/${name}`;
    const records = await eventually(async () => {
      const rows = await evidence(subject);
      return rows.some((row) => row.type === "approval.expired") ? rows : undefined;
    }, "the approval.expired record");
    expect(records.filter((row) => row.type === "approval.expired")).toEqual([
      expect.objectContaining({ to: "Expired" }),
    ]);
    expect(records.filter((row) => row.to === "Pending")).toHaveLength(1);

    const events = await eventually(async () => {
      const result = await kubectl([
        "get",
        "events",
        "-n",
        ns,
        "--field-selector",
        `involvedObject.kind=ApprovalRequest,involvedObject.name=${name},reason=Expired`,
        "-o",
        "json",
      ]);
      const items = (
        JSON.parse(result.stdout) as {
          items: { type: string; reason: string; message: string; involvedObject: { uid?: string } }[];
        }
      ).items;
      return items.length > 0 ? items : undefined;
    }, "an Expired Event on the request");
    expect(events[0]).toMatchObject({ type: "Warning", reason: "Expired", involvedObject: { uid: firstUid } });
    expect(events[0]?.message).toMatch(/expired at/);
  });

  it("replaces the Expired request with a new Pending one on the next apply of the same change", async () => {
    const denied = await apply();
    expect(denied.code).not.toBe(0);
    expect(requestNameFrom(denied.stderr)).toBe(name);
    expect(denied.stderr).toMatch(/is Pending/);
    const fresh = await eventually(async () => {
      const request = await getRequest(name);
      return request && request.metadata.uid !== firstUid && request.status?.phase === "Pending" ? request : undefined;
    }, "a new Pending request with a new uid");
    expect(fresh.metadata.uid).not.toBe(firstUid);
  });

  it("is Rejected by an approver, after which the change stays denied and says Rejected", async () => {
    const rejected = await kubectl(["aegis", "reject", name, "-n", ns, "-m", "not this one"], alice);
    expect(rejected.stdout).toMatch(/rejected by alice/i);
    const request = await requestInPhase(name, "Rejected");
    expect(request.status?.conditions).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: "Decided", reason: "Rejected" })]),
    );

    const denied = await eventually(async () => {
      const result = await apply();
      return result.code !== 0 && result.stderr.includes("Rejected") ? result : undefined;
    }, "the denial to say Rejected");
    expect(denied.stderr).toContain(`ApprovalRequest ${ns}/${name} was Rejected`);
    expect((await kubectl(["get", "deployment", "web", "-n", ns], { allowFail: true })).code).not.toBe(0);

    const subject = `ApprovalRequest/${ns}/${name}`;
    const rows = await eventually(async () => {
      const current = await evidence(subject);
      return current.some((row) => row.to === "Rejected") ? current : undefined;
    }, "the Rejected transition in the evidence");
    // Two requests of the same name (the expired one and its replacement): each transition once.
    expect(rows.map((row) => row.to)).toEqual(["Pending", "Expired", "Pending", "Rejected"]);
  });
});
