// GitOps through the gate with a real Argo CD (scripts/gitops.sh: its application controller and
// repo server, built from Argo CD's Go module): an Application syncing a gated Deployment from a
// Git repository on this machine is denied, opens one ApprovalRequest requested by Argo CD's own
// ServiceAccount however often Argo CD retries, and the retry after an approver approves is
// admitted (Synced, Healthy); an unchanged re-sync passes without a new request; a new commit is
// a new change and asks again.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  evidenceAs,
  namespaceReaderToken,
  removeWebhookConfiguration,
  startAegisProcess,
  type RunningAegisProcess,
} from "./helpers/aegis.js";
import { createTeamNamespace, eventually, kubectl, policyReady } from "./helpers/kube.js";
import { e2eTempDir } from "./helpers/tmp.js";

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, "..");

const ns = `gitops-${randomBytes(3).toString("hex")}`;
const policyName = `${ns}-gate`;
const appName = ns;
const ARGOCD_USER = "system:serviceaccount:argocd:argocd-application-controller";
const alice = { as: "alice", asGroups: ["sre-leads"] };

let aegis: RunningAegisProcess;
let gitDir: string;
let clusterServer: string;
let firstCommit: string;

const git = (...args: string[]) =>
  run("git", ["-c", "user.name=e2e", "-c", "user.email=e2e@aegis.invalid", ...args], { cwd: gitDir });

async function commitImage(image: string, message: string): Promise<string> {
  await writeFile(
    path.join(gitDir, "app", "deployment.yaml"),
    JSON.stringify({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web" },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: "web" } },
        template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image }] } },
      },
    }),
  );
  await git("add", ".");
  await git("commit", "-q", "-m", message);
  return (await git("rev-parse", "HEAD")).stdout.trim();
}

interface Application {
  status?: {
    resources?: { kind: string; name: string; status?: string; health?: { status?: string; message?: string } }[];
    sync?: { status?: string; revision?: string };
    health?: { status?: string };
    operationState?: { phase?: string; message?: string; startedAt?: string; syncResult?: { revision?: string } };
  };
}

async function application(): Promise<Application> {
  return JSON.parse(
    (await kubectl(["get", "application", appName, "-n", "argocd", "-o", "json"])).stdout,
  ) as Application;
}

async function requests(): Promise<{ name: string; requester: string; changeHash: string }[]> {
  const list = JSON.parse((await kubectl(["get", "areq", "-n", ns, "-o", "json"])).stdout) as {
    items: { metadata: { name: string }; spec: { requester: { username: string }; changeHash: string } }[];
  };
  return list.items.map((r) => ({
    name: r.metadata.name,
    requester: r.spec.requester.username,
    changeHash: r.spec.changeHash,
  }));
}

/** Refreshes the Application now (Argo CD's own annotation) instead of waiting for its resync. */
const refresh = () =>
  kubectl(["annotate", "application", appName, "-n", "argocd", "argocd.argoproj.io/refresh=normal", "--overwrite"]);

beforeAll(async () => {
  const up = await run("bash", [path.join(repoRoot, "scripts/gitops.sh"), "up"], {
    cwd: repoRoot,
    timeout: 30 * 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  clusterServer = /^ARGOCD_CLUSTER_SERVER=(\S+)$/m.exec(up.stdout)?.[1] ?? "";
  expect(clusterServer, up.stderr).not.toBe("");
  await createTeamNamespace(ns);
  await kubectl(["apply", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "aegis.valina.ai/v1alpha1",
      kind: "AegisPolicy",
      metadata: { name: policyName },
      spec: {
        enforcement: "Enforce",
        match: { kinds: ["Deployment"], namespaces: [ns] },
        approval: { mode: "Always", approvers: { groups: ["sre-leads"] } },
      },
    }),
  });
  aegis = await startAegisProcess({ apiPort: 18785, webhookPort: 19485 });
  await policyReady(policyName);
  gitDir = await e2eTempDir("gitops-repo-");
  await mkdir(path.join(gitDir, "app"));
  await run("git", ["init", "-q", "-b", "main"], { cwd: gitDir });
  firstCommit = await commitImage("ghcr.io/acme/web:1.0", "web 1.0");
}, 40 * 60_000);

afterAll(async () => {
  await kubectl(["delete", "application", appName, "-n", "argocd", "--ignore-not-found"], { allowFail: true });
  await removeWebhookConfiguration();
  await aegis?.stop();
  await kubectl(["delete", "apol", policyName, "--ignore-not-found"], { allowFail: true });
  await kubectl(["delete", "namespace", ns, "--wait=false"], { allowFail: true });
  await run("bash", [path.join(repoRoot, "scripts/gitops.sh"), "down"], { cwd: repoRoot }).catch(() => undefined);
});

describe("Argo CD syncing through the gate", () => {
  it("is denied, opens one request however often it retries, and the retry after approval is admitted", async () => {
    await kubectl(["apply", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "argoproj.io/v1alpha1",
        kind: "Application",
        metadata: { name: appName, namespace: "argocd" },
        spec: {
          project: "default",
          source: { repoURL: `file://${gitDir}`, targetRevision: "main", path: "app" },
          destination: { server: clusterServer, namespace: ns },
          syncPolicy: {
            automated: {},
            retry: { limit: 30, backoff: { duration: "2s", factor: 1, maxDuration: "3s" } },
          },
        },
      }),
    });
    const denied = await eventually(
      async () => {
        const message = (await application()).status?.operationState?.message ?? "";
        return /needs 1 approval/.test(message) ? message : undefined;
      },
      "Argo CD's sync to be denied for approval",
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    expect(denied).toMatch(/ApprovalRequest \S+ is Pending; approve with: kubectl aegis approve/);
    const [first, ...others] = await eventually(
      async () => ((await requests()).length > 0 ? requests() : undefined),
      "the ApprovalRequest",
    );
    expect(others).toEqual([]);
    expect(first?.requester).toBe(ARGOCD_USER);
    // The commit Argo CD syncs, read from its Application: no aegis.valina.ai/git-* annotations in Git.
    expect(
      (
        await kubectl([
          "get",
          "areq",
          first?.name ?? "",
          "-n",
          ns,
          "-o",
          "jsonpath={.metadata.annotations.aegis\\.valina\\.ai/git-commit}",
        ])
      ).stdout,
    ).toBe(firstCommit);

    // The request joins the Application (Argo CD's tracking label): its health check says what to do.
    const tracked = await eventually(
      async () => {
        const resources = (await application()).status?.resources ?? [];
        return resources.find((r) => r.kind === "ApprovalRequest" && r.name === first?.name && r.health?.status);
      },
      "the ApprovalRequest in the Application's resources with a health",
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    expect(tracked.health?.status).toBe("Progressing");
    expect(tracked.health?.message).toContain(`kubectl aegis approve ${first?.name ?? ""} -n ${ns}`);

    // Argo CD retries every 2-3 s: after several retries there is still one request.
    await new Promise((resolve) => setTimeout(resolve, 10_000));
    expect((await requests()).map((r) => r.name)).toEqual([first?.name]);

    expect((await kubectl(["aegis", "approve", first?.name ?? "", "-n", ns], alice)).stdout).toMatch(
      /approved by alice/,
    );
    const synced = await eventually(
      async () => {
        const app = await application();
        return app.status?.sync?.status === "Synced" && app.status.health?.status === "Healthy" ? app : undefined;
      },
      "the Application to be Synced and Healthy after the approval",
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    expect(synced.status?.operationState?.phase).toBe("Succeeded");
    expect(
      (
        await kubectl([
          "get",
          "deployment",
          "web",
          "-n",
          ns,
          "-o",
          "jsonpath={.spec.template.spec.containers[0].image}",
        ])
      ).stdout,
    ).toBe("ghcr.io/acme/web:1.0");
    expect((await requests()).length).toBe(1);
    // What the retries cost: one request, and two evidence records (the denial that opened the
    // request, one for every retry against it); the attempts themselves are counted in the metric.
    const evidence = { items: await evidenceAs(aegis, await namespaceReaderToken(ns)) };
    const pendingDenials = evidence.items.filter(
      (r) =>
        r.type === "admission.decision" &&
        r.subject === `Deployment/${ns}/web` &&
        r.data["reason"] === "ApprovalPending",
    );
    expect(pendingDenials).toHaveLength(2);
    expect(pendingDenials.every((r) => r.actor === ARGOCD_USER)).toBe(true);
    const admitted = evidence.items.find(
      (r) => r.type === "admission.decision" && r.subject === `Deployment/${ns}/web` && r.data["reason"] === "Approved",
    );
    expect(admitted?.actor).toBe(ARGOCD_USER);
    expect(admitted?.data["gitOps"]).toMatchObject({
      application: `argocd/${appName}`,
      annotations: { "aegis.valina.ai/git-commit": firstCommit },
    });
    const metrics = await (await fetch(`${aegis.apiUrl}/metrics`)).text();
    const denials = new RegExp(
      `aegis_policy_decisions_total\\{[^}]*policy="${policyName}"[^}]*decision="denied"[^}]*\\} (\\d+)`,
    ).exec(metrics);
    console.log(
      JSON.stringify({
        bench: "gitops-retries",
        deniedAttempts: Number(denials?.[1] ?? 0),
        approvalRequests: 1,
        evidenceRecords: pendingDenials.length,
      }),
    );
  });

  it("passes an unchanged re-sync without a new request", async () => {
    const before = (await application()).status?.operationState?.startedAt;
    await kubectl([
      "patch",
      "application",
      appName,
      "-n",
      "argocd",
      "--type=merge",
      "-p",
      JSON.stringify({ operation: { sync: { revision: "main" }, initiatedBy: { username: "e2e" } } }),
    ]);
    await eventually(
      async () => {
        const state = (await application()).status?.operationState;
        return state?.startedAt !== before && state?.phase === "Succeeded" ? true : undefined;
      },
      "the manual re-sync to succeed",
      { timeoutMs: 90_000, intervalMs: 1000 },
    );
    expect((await requests()).length).toBe(1);
  });

  it("asks again for a new commit, a new change", async () => {
    const revision = await commitImage("ghcr.io/acme/web:1.1", "web 1.1");
    await refresh();
    await eventually(
      async () => ((await requests()).length === 2 ? true : undefined),
      "a second ApprovalRequest for the new commit",
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    const app = await application();
    expect(app.status?.sync?.revision).toBe(revision);
    expect(app.status?.sync?.status).toBe("OutOfSync");
  });

  it("admits a git revert back to the approved spec without asking: approvals bind to the spec, not the commit", async () => {
    await git("revert", "--no-edit", "HEAD");
    const revision = (await git("rev-parse", "HEAD")).stdout.trim();
    await refresh();
    await eventually(
      async () => {
        const app = await application();
        return app.status?.sync?.revision === revision && app.status.sync.status === "Synced" ? true : undefined;
      },
      "the revert to sync",
      { timeoutMs: 120_000, intervalMs: 1000 },
    );
    expect((await requests()).length).toBe(2);
  });
});
