// The Slack identity map against `aegis serve` and a real kube-apiserver (RBAC, SubjectAccessReview):
// an entry maps a Slack user to a Kubernetes username only. An entry with `;groups` maps nobody;
// a user whose `approve` comes from a group binding cannot approve from Slack (the review is made
// for the username alone); a mapped user approves, and the approval.decision evidence names the
// ConfigMap's resourceVersion, whose policy.change record comes first in the chain. A later edit
// of the map is recorded though no Slack decision follows it.
// Not covered here: the admission guard of the map (src/webhook/slack-users-guard.ts) until the
// webhook configuration routes the ConfigMap to it.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { slackSignature } from "../src/http/slack-signature.js";
import {
  AEGIS_NAMESPACE,
  removeWebhookConfiguration,
  startAegisProcess,
  type RunningAegisProcess,
} from "./helpers/aegis.js";
import { eventually, kubectl } from "./helpers/kube.js";
import { sql } from "./helpers/postgres.js";

const suffix = randomBytes(3).toString("hex");
const ns = `slack-map-${suffix}`;
const policyName = `${ns}-gate`;
const approverUser = `slack-approver-${suffix}`;
const groupUser = `slack-group-member-${suffix}`;
const approverGroup = `sre-${suffix}`;
const MAP = "aegis-slack-users";
const SLACK_SECRET = "e2e-slack-map-signing-secret";
const adminDatabaseUrl = process.env["DATABASE_URL"] || "postgres://aegis:aegis@127.0.0.1:5432/aegis";
const databaseName = `aegis_slack_map_${suffix}`;
const databaseUrl = (() => {
  const url = new URL(adminDatabaseUrl);
  url.pathname = `/${databaseName}`;
  return url.toString();
})();

let aegis: RunningAegisProcess | undefined;
/** The resourceVersion of the map as written before AEGIS starts (AEGIS caches the map for 15 s). */
let firstVersion = "";

interface RecordRow {
  seq: string;
  id: string;
  type: string;
  actor: string;
  data: Record<string, unknown>;
}

const records = (subject: string): Promise<RecordRow[]> =>
  sql<RecordRow>(
    databaseUrl,
    `SELECT seq, id, type, actor, data FROM evidence_records WHERE subject = $1 ORDER BY seq`,
    [subject],
  );

async function writeMap(data: Record<string, string>): Promise<string> {
  const literals = Object.entries(data).map(([id, value]) => `--from-literal=${id}=${value}`);
  const manifest = await kubectl([
    "create",
    "configmap",
    MAP,
    "-n",
    AEGIS_NAMESPACE,
    ...literals,
    "--dry-run=client",
    "-o",
    "yaml",
  ]);
  await kubectl(["apply", "-f", "-"], { input: manifest.stdout });
  return (
    await kubectl(["get", "configmap", MAP, "-n", AEGIS_NAMESPACE, "-o", "jsonpath={.metadata.resourceVersion}"])
  ).stdout.trim();
}

async function click(slackUser: string, requestName: string): Promise<string> {
  const payload = {
    type: "block_actions",
    trigger_id: `${Date.now()}.${randomBytes(4).toString("hex")}`,
    user: { id: slackUser, username: slackUser.toLowerCase() },
    container: { type: "message", message_ts: "1700000000.000001", channel_id: "C0DEPLOYS" },
    actions: [{ action_id: "aegis_approve", value: `${ns}/${requestName}`, action_ts: `${Date.now() / 1000}` }],
  };
  const body = `payload=${encodeURIComponent(JSON.stringify(payload))}`;
  const timestamp = String(Math.floor(Date.now() / 1000));
  const response = await fetch(`${aegis?.apiUrl ?? ""}/slack/interactions`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      "x-slack-request-timestamp": timestamp,
      "x-slack-signature": slackSignature(SLACK_SECRET, timestamp, body),
    },
    body,
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { text: string }).text;
}

async function decisionsOf(requestName: string): Promise<{ user: string; comment: string; via: string }[]> {
  const stored = JSON.parse((await kubectl(["get", "areq", requestName, "-n", ns, "-o", "json"])).stdout) as {
    spec: { decisions: { user: string; comment: string; via: string }[] };
  };
  return stored.spec.decisions;
}

beforeAll(async () => {
  await sql(adminDatabaseUrl, `CREATE DATABASE ${databaseName}`);
  await kubectl(["create", "namespace", ns]);
  await kubectl(["create", "rolebinding", "dev-edit", "--clusterrole=edit", "--user=dev", "-n", ns]);
  await kubectl([
    "create",
    "rolebinding",
    "approver-user",
    "--clusterrole=aegis-approver",
    `--user=${approverUser}`,
    "-n",
    ns,
  ]);
  await kubectl([
    "create",
    "rolebinding",
    "approver-group",
    "--clusterrole=aegis-approver",
    `--group=${approverGroup}`,
    "-n",
    ns,
  ]);
  await kubectl(["create", "namespace", AEGIS_NAMESPACE], { allowFail: true });
  const policy = {
    apiVersion: "aegis.valina.ai/v1alpha1",
    kind: "AegisPolicy",
    metadata: { name: policyName },
    spec: {
      enforcement: "Enforce",
      match: { kinds: ["Deployment"], namespaces: [ns] },
      approval: { mode: "Always", approvers: { users: [approverUser], groups: [approverGroup] }, expiresAfter: "1h" },
    },
  };
  await kubectl(["apply", "-f", "-"], { input: JSON.stringify(policy) });
  firstVersion = await writeMap({
    U0USER: approverUser,
    U0GROUP: groupUser,
    U0LEGACY: `${approverUser};${approverGroup}`,
  });
  aegis = await startAegisProcess({
    apiPort: 18791,
    webhookPort: 19491,
    env: { DATABASE_URL: databaseUrl, SLACK_SIGNING_SECRET: SLACK_SECRET },
  });
  await eventually(
    async () =>
      (await kubectl(["get", "apol", policyName, "-o", "jsonpath={.status.conditions[0].status}"])).stdout === "True"
        ? true
        : undefined,
    "the policy to be Ready",
  );
}, 300_000);

afterAll(async () => {
  await removeWebhookConfiguration();
  await aegis?.stop();
  await kubectl(["delete", "apol", policyName, "--ignore-not-found"], { allowFail: true });
  await kubectl(["delete", "configmap", MAP, "-n", AEGIS_NAMESPACE, "--ignore-not-found"], { allowFail: true });
  await kubectl(["delete", "namespace", ns, "--wait=false"], { allowFail: true });
  await sql(adminDatabaseUrl, `DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`).catch(() => undefined);
});

describe("Slack approvers through aegis-slack-users", () => {
  it("acts as the username only, and the decision's evidence names the map's version", async () => {
    const version = firstVersion;
    const denied = await kubectl(["create", "deployment", "web", "--image=ghcr.io/acme/web:1.0", "-n", ns], {
      as: "dev",
      allowFail: true,
    });
    const requestName = /ApprovalRequest [^/]+\/(\S+) is/.exec(denied.stderr)?.[1] ?? "";
    expect(requestName, denied.stderr).not.toBe("");

    expect(await click("U0LEGACY", requestName)).toMatch(/maps nobody: .*";groups" part/);
    // groupUser may approve through the group binding with kubectl, never from Slack.
    expect(await click("U0GROUP", requestName)).toMatch(new RegExp(`${groupUser} may not approve`));
    expect(await decisionsOf(requestName)).toEqual([]);

    expect(await click("U0USER", requestName)).toMatch(/approved .* it is now Approved/);
    const [decision] = await decisionsOf(requestName);
    expect(decision).toMatchObject({ user: approverUser, via: "slack" });
    expect(decision?.comment).toContain(`by ConfigMap ${AEGIS_NAMESPACE}/${MAP} resourceVersion ${version} `);

    const subject = `ConfigMap/${AEGIS_NAMESPACE}/${MAP}`;
    const mapRecords = await eventually(
      async () =>
        (await records(subject)).some((r) => r.data["resourceVersion"] === version) ? records(subject) : undefined,
      "the map's version as evidence",
    );
    const observed = mapRecords.find((r) => r.data["resourceVersion"] === version);
    expect(observed).toMatchObject({ type: "policy.change", data: { operation: "Observed" } });
    expect(observed?.data["refused"]).toHaveProperty("U0LEGACY");
    const decisionRecords = await eventually(async () => {
      const rows = await records(`ApprovalRequest/${ns}/${requestName}`);
      return rows.some((r) => r.type === "approval.decision") ? rows : undefined;
    }, "the approval.decision record");
    const decided = decisionRecords.find((r) => r.type === "approval.decision");
    expect(decided?.data["comment"]).toBe(decision?.comment);
    expect(Number(observed?.seq)).toBeLessThan(Number(decided?.seq));
  });

  it("records an edit of the map that no Slack decision follows", async () => {
    const version = await writeMap({ U0USER: approverUser, U0OTHER: "someone-else" });
    const subject = `ConfigMap/${AEGIS_NAMESPACE}/${MAP}`;
    const observed = await eventually(
      async () => (await records(subject)).find((r) => r.data["resourceVersion"] === version),
      "the edited map's version as evidence",
      { timeoutMs: 90_000, intervalMs: 1_000 },
    );
    expect(observed?.data).toMatchObject({ operation: "Observed", added: { U0OTHER: "someone-else" } });
  });
});
