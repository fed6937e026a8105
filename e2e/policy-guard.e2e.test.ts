// AegisPolicies through the webhook end to end: a developer with `edit` cannot create one at all
// (RBAC: they are cluster-scoped and no aggregated role grants writes), an admin's policy whose CEL
// does not compile is refused with the compiler's message, and every admitted change — deletion
// included — is policy.change evidence naming the admin, not AEGIS.
// Needs the webhook configuration to route aegispolicies CREATE/UPDATE/DELETE (scope Cluster) to AEGIS.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeWebhookConfiguration, startAegisProcess, type RunningAegisProcess } from "./helpers/aegis.js";
import { eventually, kubectl } from "./helpers/kube.js";
import { sql } from "./helpers/postgres.js";

const suffix = randomBytes(3).toString("hex");
const ns = `policy-guard-${suffix}`;
const brokenName = `${ns}-broken`;
const policyName = `${ns}-gate`;
const adminDatabaseUrl = process.env["DATABASE_URL"] || "postgres://aegis:aegis@127.0.0.1:5432/aegis";
const databaseName = `aegis_policy_guard_${suffix}`;
const databaseUrl = (() => {
  const url = new URL(adminDatabaseUrl);
  url.pathname = `/${databaseName}`;
  return url.toString();
})();
// Names of their own, so the cluster-wide bindings below reach no other test's users.
const dev = { as: `dev-${suffix}`, asGroups: [`developers-${suffix}`] };
const admin = { as: `admin-${suffix}`, asGroups: [`platform-${suffix}`] };
const bindings = { edit: `${ns}-dev-edit`, admin: `${ns}-admin` };

function policy(name: string, checks: Record<string, unknown>[]): string {
  return JSON.stringify({
    apiVersion: "aegis.valina.ai/v1alpha1",
    kind: "AegisPolicy",
    metadata: { name },
    spec: { enforcement: "Enforce", match: { kinds: ["Deployment"], namespaces: [ns] }, checks },
  });
}

const validChecks = [{ name: "replicas", cel: "object.spec.replicas <= 10", message: "at most 10 replicas" }];
const brokenChecks = [{ name: "replicas", cel: "object.spec.replicas <=" }];

interface ChangeRecord {
  id: string;
  actor: string;
  data: { operation: string; specHash: string; generation: number; spec: unknown; uid: string | null };
}

function changes(name: string): Promise<ChangeRecord[]> {
  return sql<ChangeRecord>(
    databaseUrl,
    `SELECT id, actor, data FROM evidence_records WHERE subject = $1 AND type = 'policy.change' ORDER BY seq`,
    [`AegisPolicy/${name}`],
  );
}

async function uidOf(name: string): Promise<string> {
  return (await kubectl(["get", "apol", name, "-o", "jsonpath={.metadata.uid}"])).stdout.trim();
}

let aegis: RunningAegisProcess;

beforeAll(async () => {
  await sql(adminDatabaseUrl, `CREATE DATABASE ${databaseName}`);
  await kubectl(["create", "namespace", ns]);
  await kubectl(["create", "rolebinding", "dev-edit", "--clusterrole=edit", `--group=${dev.asGroups[0]}`, "-n", ns]);
  // Even `edit` across the whole cluster grants no AegisPolicy writes.
  await kubectl(["create", "clusterrolebinding", bindings.edit, "--clusterrole=edit", `--group=${dev.asGroups[0]}`]);
  await kubectl(["create", "clusterrolebinding", bindings.admin, "--clusterrole=cluster-admin", `--user=${admin.as}`]);
  aegis = await startAegisProcess({ apiPort: 18781, webhookPort: 19481, env: { DATABASE_URL: databaseUrl } });
}, 300_000);

afterAll(async () => {
  await removeWebhookConfiguration();
  await aegis?.stop();
  await kubectl(["delete", "apol", brokenName, policyName, "--ignore-not-found"], { allowFail: true });
  await kubectl(["delete", "clusterrolebinding", bindings.edit, bindings.admin, "--ignore-not-found"], {
    allowFail: true,
  });
  await kubectl(["delete", "namespace", ns, "--wait=false"], { allowFail: true });
  await sql(adminDatabaseUrl, `DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`).catch(() => undefined);
});

describe("AegisPolicies through the webhook", () => {
  it("does not let a developer with edit rights create an AegisPolicy at all (RBAC, before any webhook)", async () => {
    const canI = await kubectl(["auth", "can-i", "create", "aegispolicies.aegis.valina.ai"], {
      ...dev,
      allowFail: true,
    });
    expect(canI.stdout.trim()).toBe("no");
    const result = await kubectl(["apply", "-f", "-"], {
      ...dev,
      input: policy(`${ns}-dev`, validChecks),
      allowFail: true,
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(
      new RegExp(
        `User "${dev.as}" cannot (create|get|patch) resource "aegispolicies" in API group "aegis.valina.ai" at the cluster scope`,
      ),
    );
    expect(result.stderr).not.toContain("admission webhook");
    expect((await kubectl(["get", "apol", `${ns}-dev`], { allowFail: true })).code).not.toBe(0);
  });

  it("refuses an admin's policy whose CEL does not compile, with the compiler's field path and error", async () => {
    const refused = await eventually(async () => {
      const attempt = await kubectl(["apply", "-f", "-"], {
        ...admin,
        input: policy(brokenName, brokenChecks),
        allowFail: true,
      });
      if (attempt.code === 0) {
        // Stored before the webhook configuration covered AegisPolicies: remove it and try again.
        await kubectl(["delete", "apol", brokenName, "--ignore-not-found"]);
        return undefined;
      }
      return attempt;
    }, "the webhook to refuse the broken policy");
    expect(refused.stderr).toMatch(/admission webhook "[^"]+" denied the request: /);
    expect(refused.stderr).toMatch(
      new RegExp(`aegis: AegisPolicy ${brokenName} does not compile: spec\\.checks\\[0\\]\\.cel: syntax error: `),
    );
    expect((await kubectl(["get", "apol", brokenName], { allowFail: true })).code).not.toBe(0);
  });

  it("records the admin as the actor of a policy's creation and update, once per change", async () => {
    await kubectl(["apply", "-f", "-"], { ...admin, input: policy(policyName, validChecks) });
    const uid = await uidOf(policyName);
    const created = await eventually(async () => {
      const rows = await changes(policyName);
      return rows.some((row) => row.data.uid === uid && row.data.operation === "CREATE") ? rows : undefined;
    }, "the creation's policy.change record");
    const ofThisObject = created.filter((row) => row.data.uid === uid);
    expect(ofThisObject).toHaveLength(1);
    const [creation] = ofThisObject;
    expect(creation).toMatchObject({ actor: admin.as, data: { operation: "CREATE", generation: 1, uid } });
    expect(creation?.id).toBe(`policy-change:${uid}:${creation?.data.specHash}`);
    expect(creation?.data.spec).toMatchObject({ checks: validChecks });
    await eventually(
      async () =>
        (await kubectl(["get", "apol", policyName, "-o", "jsonpath={.status.conditions[0].status}"])).stdout === "True"
          ? true
          : undefined,
      "the policy to be Ready",
    );
    // The reconciler records under the same id: the ledger keeps the webhook's record only.
    expect((await changes(policyName)).filter((row) => row.data.uid === uid)).toHaveLength(1);

    const stricter = [...validChecks, { name: "owner", requiredLabels: ["team"] }];
    await kubectl(["apply", "-f", "-"], { ...admin, input: policy(policyName, stricter) });
    const updated = await eventually(async () => {
      const rows = (await changes(policyName)).filter((row) => row.data.uid === uid);
      return rows.length === 2 ? rows : undefined;
    }, "the update's policy.change record");
    expect(updated[1]).toMatchObject({ actor: admin.as, data: { operation: "UPDATE", generation: 2, uid } });
    expect(updated[1]?.data.specHash).not.toBe(updated[0]?.data.specHash);
  });

  it("records the admin's deletion with the deleted spec's hash", async () => {
    const uid = await uidOf(policyName);
    const before = (await changes(policyName)).filter((row) => row.data.uid === uid);
    const lastHash = before[before.length - 1]?.data.specHash;
    expect(lastHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    await kubectl(["delete", "apol", policyName], admin);
    const deleted = await eventually(async () => {
      const rows = await changes(policyName);
      return rows.find((row) => row.data.uid === uid && row.data.operation === "DELETE");
    }, "the deletion's policy.change record");
    expect(deleted).toEqual({
      id: `policy-change:${uid}:deleted`,
      actor: admin.as,
      data: { operation: "DELETE", specHash: lastHash, generation: 2, spec: null, uid },
    });
  });
});
