// The REST API's decision path against a real kube-apiserver and `aegis serve` running as its
// own service account: no token → 401, a token whose user lacks the `approve` verb → 403, a
// bound user outside the policy's approvers → 403, a bound approver → Approved, the change is
// then admitted, and the evidence names that identity (via api, written by AEGIS for it).
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AEGIS_USERNAME,
  removeWebhookConfiguration,
  startAegisProcess,
  type RunningAegisProcess,
} from "./helpers/aegis.js";
import { eventually, kubeconfigPath, kubectl } from "./helpers/kube.js";

const repo = path.resolve(import.meta.dirname, "..");

interface ApprovalScene {
  ns: string;
  policyName: string;
  /** `system:serviceaccount:NS:NAME` of each user. */
  username: (sa: string) => string;
  token: (sa: string) => Promise<string>;
  /** Applies a Deployment as `dev`; returns the ApprovalRequest named in the denial. */
  applyAsDev: (
    name: string,
    image: string,
  ) => Promise<{ code: number; stderr: string; requestName: string | undefined }>;
  cleanUp: () => Promise<void>;
}

function deploymentManifest(ns: string, name: string, image: string): string {
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: ns, labels: { app: name } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "web", image }] } },
    },
  });
}

/**
 * Creates the namespace, service accounts `approver` (bound to aegis-approver and listed in the
 * policy), `outsider` (no binding) and `bystander` (bound, not listed), and the policy.
 */
async function createApprovalScene(prefix: string): Promise<ApprovalScene> {
  const ns = `${prefix}-${randomBytes(3).toString("hex")}`;
  const policyName = `${ns}-gate`;
  const username = (sa: string): string => `system:serviceaccount:${ns}:${sa}`;
  await kubectl(["create", "namespace", ns]);
  await kubectl(["create", "rolebinding", "dev-edit", "--clusterrole=edit", "--user=dev", "-n", ns]);
  for (const sa of ["approver", "outsider", "bystander"]) await kubectl(["create", "serviceaccount", sa, "-n", ns]);
  await kubectl([
    "create",
    "rolebinding",
    "approvers",
    "--clusterrole=aegis-approver",
    `--serviceaccount=${ns}:approver`,
    `--serviceaccount=${ns}:bystander`,
    "-n",
    ns,
  ]);
  const policy = {
    apiVersion: "aegis.valina.ai/v1alpha1",
    kind: "AegisPolicy",
    metadata: { name: policyName },
    spec: {
      enforcement: "Enforce",
      match: { kinds: ["Deployment"], namespaces: [ns] },
      approval: { mode: "Always", minApprovals: 1, approvers: { users: [username("approver")] }, expiresAfter: "1h" },
    },
  };
  await kubectl(["apply", "-f", "-"], { input: JSON.stringify(policy) });
  return {
    ns,
    policyName,
    username,
    token: async (sa) =>
      (await kubectl(["create", "token", sa, "-n", ns, "--duration=1h", "--audience", "aegis"])).stdout.trim(),
    applyAsDev: async (name, image) => {
      const result = await kubectl(["apply", "-f", "-"], {
        as: "dev",
        asGroups: ["developers"],
        input: deploymentManifest(ns, name, image),
        allowFail: true,
      });
      return {
        code: result.code,
        stderr: result.stderr,
        requestName: /ApprovalRequest [^/]+\/(\S+) is/.exec(result.stderr)?.[1],
      };
    },
    cleanUp: async () => {
      await kubectl(["delete", "apol", policyName, "--ignore-not-found"], { allowFail: true });
      await kubectl(["delete", "namespace", ns, "--wait=false"], { allowFail: true });
    },
  };
}

/** Waits until the policy is Ready (its reconciler ran, so AEGIS's cache has it too). */
async function waitForPolicyReady(policyName: string): Promise<void> {
  await eventually(async () => {
    const status = (await kubectl(["get", "apol", policyName, "-o", "jsonpath={.status.conditions[0].status}"])).stdout;
    return status === "True" ? true : undefined;
  }, `policy ${policyName} to be Ready`);
}

let aegis: RunningAegisProcess | undefined;
let scene: ApprovalScene;
let stopped = false;

beforeAll(async () => {
  scene = await createApprovalScene("api");
  aegis = await startAegisProcess();
  await waitForPolicyReady(scene.policyName);
}, 240_000);

afterAll(async () => {
  await removeWebhookConfiguration();
  if (!stopped) await aegis?.stop();
  await scene?.cleanUp();
});

/** The export reads AEGIS's embedded database; an empty DATABASE_URL would count as set. */
function withoutDatabaseUrl(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { DATABASE_URL: _ignored, ...rest } = env;
  return rest;
}

function decide(requestName: string, token: string | undefined, action = "approve"): Promise<Response> {
  if (!aegis) throw new Error("AEGIS is not running");
  return fetch(`${aegis.apiUrl}/api/approvals/${scene.ns}/${requestName}/${action}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ comment: "e2e approval" }),
  });
}

const get = (path: string, token?: string): Promise<Response> =>
  fetch(`${aegis?.apiUrl ?? ""}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

describe("REST API reads", () => {
  it("401 without a token or with a token for the API server; RBAC in another namespace shows none of this one's requests or evidence", async () => {
    const denied = await scene.applyAsDev("reads", "ghcr.io/acme/reads:1.0");
    const requestName = denied.requestName;
    if (!requestName) throw new Error(`no ApprovalRequest in the denial: ${denied.stderr}`);
    const approver = await scene.token("approver");
    await eventually(
      async () =>
        (await get(`/api/approvals/${scene.ns}/${requestName}`, approver)).status === 200 ? true : undefined,
      "AEGIS's cache to hold the request",
    );

    for (const path of [
      "/api/approvals",
      `/api/approvals/${scene.ns}/${requestName}`,
      "/api/evidence",
      "/api/policies",
    ])
      expect((await get(path)).status, path).toBe(401);
    // A token for the API server's own audience gives full cluster access: AEGIS refuses it.
    const clusterToken = (
      await kubectl(["create", "token", "approver", "-n", scene.ns, "--duration=10m"])
    ).stdout.trim();
    const refused = await get("/api/approvals", clusterToken);
    expect(refused.status).toBe(401);
    expect(await refused.text()).toContain("--audience aegis");

    // outsider may view another namespace only.
    const other = `${scene.ns}-other`;
    await kubectl(["create", "namespace", other]);
    try {
      await kubectl([
        "create",
        "rolebinding",
        "outsider-view",
        "--clusterrole=view",
        `--serviceaccount=${scene.ns}:outsider`,
        "-n",
        other,
      ]);
      const outsider = await scene.token("outsider");
      const listed = (await (await get("/api/approvals", outsider)).json()) as { items: { namespace: string }[] };
      expect(listed.items.filter((item) => item.namespace === scene.ns)).toEqual([]);
      expect((await get(`/api/approvals/${scene.ns}/${requestName}`, outsider)).status).toBe(403);
      const evidence = (await (await get("/api/evidence?limit=500", outsider)).json()) as {
        items: { subject: string }[];
      };
      expect(evidence.items.filter((record) => record.subject.includes(`/${scene.ns}/`))).toEqual([]);

      const mine = (await (await get("/api/approvals", approver)).json()) as {
        items: { namespace: string; name: string }[];
      };
      expect(mine.items).toContainEqual(expect.objectContaining({ namespace: scene.ns, name: requestName }));
      const theirs = (await (await get("/api/evidence?limit=500", approver)).json()) as {
        items: { subject: string }[];
      };
      expect(theirs.items.map((record) => record.subject)).toContain(`Deployment/${scene.ns}/reads`);
    } finally {
      await kubectl(["delete", "namespace", other, "--wait=false"], { allowFail: true });
    }
  });
});

describe("REST API decisions", () => {
  it("401 without a token, 403 without the approve verb or outside the approvers, Approved for the approver, evidence names them", async () => {
    const denied = await scene.applyAsDev("web", "ghcr.io/acme/web:1.0");
    expect(denied.code).not.toBe(0);
    const requestName = denied.requestName;
    if (!requestName) throw new Error(`no ApprovalRequest in the denial: ${denied.stderr}`);
    const approverToken = await scene.token("approver");
    await eventually(
      async () =>
        (await get(`/api/approvals/${scene.ns}/${requestName}`, approverToken)).status === 200 ? true : undefined,
      "AEGIS's cache to hold the request",
    );

    const anonymous = await decide(requestName, undefined);
    expect(anonymous.status).toBe(401);
    expect((await decide(requestName, "not-a-real-token")).status).toBe(401);

    const outsider = await decide(requestName, await scene.token("outsider"));
    expect(outsider.status).toBe(403);
    expect(await outsider.json()).toMatchObject({
      error: "Forbidden",
      message: expect.stringContaining(`${scene.username("outsider")} may not approve`) as unknown,
    });

    const bystander = await decide(requestName, await scene.token("bystander"));
    expect(bystander.status).toBe(403);
    expect(await bystander.json()).toMatchObject({ error: "NotAnApprover" });

    const approved = await decide(requestName, await scene.token("approver"));
    expect(approved.status, await approved.clone().text()).toBe(200);
    expect(await approved.json()).toMatchObject({
      phase: "Approved",
      decisions: [{ user: scene.username("approver"), decision: "Approve", via: "api", comment: "e2e approval" }],
    });

    const stored = JSON.parse((await kubectl(["get", "areq", requestName, "-n", scene.ns, "-o", "json"])).stdout) as {
      spec: { decisions: { user: string; via: string }[] };
    };
    expect(stored.spec.decisions).toMatchObject([{ user: scene.username("approver"), via: "api" }]);
    await eventually(
      async () =>
        (await kubectl(["get", "areq", requestName, "-n", scene.ns, "-o", "jsonpath={.status.phase}"])).stdout ===
        "Approved"
          ? true
          : undefined,
      "status Approved",
    );

    const admitted = await scene.applyAsDev("web", "ghcr.io/acme/web:1.0");
    expect(admitted.code, admitted.stderr).toBe(0);

    await removeWebhookConfiguration();
    await aegis?.stop();
    stopped = true;
    const exported = spawnSync(
      process.execPath,
      [
        "--import",
        path.join(repo, "node_modules", "tsx", "dist", "loader.mjs"),
        path.join(repo, "src", "cli", "aegis.ts"),
        "evidence",
        "export",
        "--data-dir",
        aegis?.dataDir ?? "",
      ],
      {
        cwd: repo,
        encoding: "utf8",
        env: withoutDatabaseUrl({ ...process.env, KUBECONFIG: kubeconfigPath() }),
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    expect(exported.status, exported.stderr).toBe(0);
    const bundle = JSON.parse(exported.stdout) as {
      records: { type: string; subject: string; actor: string; data: Record<string, unknown> }[];
    };
    const decision = bundle.records.find(
      (record) =>
        record.type === "approval.decision" && record.subject === `ApprovalRequest/${scene.ns}/${requestName}`,
    );
    expect(decision).toMatchObject({
      actor: scene.username("approver"),
      data: { via: "api", caller: AEGIS_USERNAME, decision: "Approve" },
    });
  });
});
