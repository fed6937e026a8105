// RiskBased approval with two thresholds on the real kube-apiserver: a change scoring below
// autoApproveBelow is admitted with no request, one in between waits for an approver, and one
// above blockAbove is denied with its score and factors, opening no request that could admit it.
// Scores are v1's fixed factors; "outside working hours" (+10) depends on the clock, so each
// change sits at least 10 points inside its band.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  evidenceAs,
  namespaceReaderToken,
  removeWebhookConfiguration,
  startAegisProcess,
  type RunningAegisProcess,
} from "./helpers/aegis.js";
import { createTeamNamespace, eventually, kubeconfigPath, kubectl, policyReady } from "./helpers/kube.js";

const run = promisify(execFile);

const ns = `risk-${randomBytes(3).toString("hex")}`;
const policyName = `${ns}-risk`;
const splitNs = `${ns}-split`;
const splitPolicy = `${splitNs}-risk`;
const shadowNs = `${ns}-shadow`;
const shadowPolicy = `${shadowNs}-risk`;
const dev = { as: "dev", asGroups: ["developers"] };
const alice = { as: "alice", asGroups: ["sre-leads"] };
const DIGEST = `sha256:${"ab".repeat(32)}`;

function deployment(
  name: string,
  image: string,
  {
    pod = {},
    container = {},
    namespace = ns,
  }: { pod?: Record<string, unknown>; container?: Record<string, unknown>; namespace?: string } = {},
): string {
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { ...pod, containers: [{ name: "web", image, ...container }] },
      },
    },
  });
}

const privileged = (): string =>
  deployment("privileged", "ghcr.io/acme/web:1.2", {
    pod: { hostNetwork: true },
    container: { securityContext: { privileged: true } },
  });

const apply = (manifest: string) => kubectl(["apply", "-f", "-"], { ...dev, input: manifest, allowFail: true });

let aegis: RunningAegisProcess;

const riskPolicyManifest = (
  name: string,
  namespace: string,
  approval: Record<string, unknown>,
  risk: Record<string, unknown> = { shadow: false },
): string =>
  JSON.stringify({
    apiVersion: "aegis.valina.ai/v1alpha1",
    kind: "AegisPolicy",
    metadata: { name },
    spec: {
      enforcement: "Enforce",
      match: { kinds: ["Deployment"], namespaces: [namespace] },
      risk,
      approval: { ...approval, approvers: { groups: ["sre-leads"] } },
    },
  });
const splitPolicyManifest = (approval: Record<string, unknown>): string =>
  riskPolicyManifest(splitPolicy, splitNs, approval);

beforeAll(async () => {
  for (const namespace of [ns, splitNs, shadowNs]) await createTeamNamespace(namespace);
  await kubectl(["apply", "-f", "-"], {
    input: riskPolicyManifest(policyName, ns, { mode: "RiskBased", autoApproveBelow: 25, blockAbove: 55 }),
  });
  aegis = await startAegisProcess({ apiPort: 18778, webhookPort: 19479 });
  await policyReady(policyName);
  // The gate is live (an admitted change below proves nothing otherwise): a server-side dry run
  // of the riskiest change is blocked.
  await eventually(async () => {
    const dry = await kubectl(["apply", "--dry-run=server", "-f", "-"], {
      ...dev,
      input: privileged(),
      allowFail: true,
    });
    return /is blocked: risk/.test(dry.stderr) ? true : undefined;
  }, "the gate to block the privileged change");
}, 300_000);

afterAll(async () => {
  await removeWebhookConfiguration();
  await aegis?.stop();
  await kubectl(["delete", "apol", policyName, splitPolicy, shadowPolicy, "--ignore-not-found"], { allowFail: true });
  await kubectl(["delete", "clusterrolebinding,clusterrole", `${ns}-trainer`, "--ignore-not-found"], {
    allowFail: true,
  });
  for (const namespace of [ns, splitNs, shadowNs])
    await kubectl(["delete", "namespace", namespace, "--wait=false"], { allowFail: true });
});

describe("RiskBased approval with autoApproveBelow and blockAbove", () => {
  it("admits a change below autoApproveBelow without a request", async () => {
    // new-workload +10 (+10 outside working hours): 10-20, below 25.
    const result = await apply(deployment("pinned", `ghcr.io/acme/web@${DIGEST}`));
    expect(result.code, result.stderr).toBe(0);
    expect((await kubectl(["get", "areq", "-n", ns, "-o", "name"])).stdout.trim()).toBe("");
  });

  it("asks an approver between the thresholds, and admits the change once approved", async () => {
    // new-workload +10, mutable-tag +10, host-access +20 (+10): 40-50, from 25 to 55.
    const manifest = deployment("tagged", "ghcr.io/acme/web:1.2", {
      container: { ports: [{ containerPort: 8080, hostPort: 18080 }] },
    });
    const denied = await apply(manifest);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/needs 1 approval \(policy \S+, risk \d+\/100: .*host-access \+20/);
    const name = /ApprovalRequest [^/]+\/(\S+) is Pending/.exec(denied.stderr)?.[1] ?? "";
    expect(name).not.toBe("");
    expect((await kubectl(["aegis", "approve", name, "-n", ns], alice)).stdout).toMatch(/approved by alice/);
    await eventually(
      async () => ((await apply(manifest)).code === 0 ? true : undefined),
      "the approved change to pass",
    );
  });

  it("blocks a change above blockAbove, saying why, and opens no request", async () => {
    // new-workload +10, mutable-tag +10, privilege-increase +25, host-access +20 (+10): 65-75.
    const before = (await kubectl(["get", "areq", "-n", ns, "-o", "name"])).stdout.trim().split("\n").length;
    const blocked = await apply(privileged());
    expect(blocked.code).not.toBe(0);
    expect(blocked.stderr).toMatch(
      /is blocked: risk \d+\/100 is above blockAbove 55 of policy \S+ \(.*privilege-increase \+25.*\); no approval admits it/,
    );
    expect((await kubectl(["get", "areq", "-n", ns, "-o", "name"])).stdout.trim().split("\n").length).toBe(before);
  });
});

describe("RiskBased approval scored against what humans last approved", () => {
  const pinned = `ghcr.io/acme/split@${DIGEST}`;
  const env = { env: [{ name: "FEATURE", value: "on" }] };
  const v0 = deployment("split", pinned, { namespace: splitNs });
  const v1 = deployment("split", pinned, { namespace: splitNs, container: env });
  const v2 = deployment("split", pinned, {
    namespace: splitNs,
    container: { ...env, securityContext: { privileged: true } },
  });

  it("asks a human for the second of two steps that each score under autoApproveBelow", async () => {
    // v0 approved by a human (the policy asks for approval of everything at first).
    await kubectl(["apply", "-f", "-"], { input: splitPolicyManifest({ mode: "Always" }) });
    await policyReady(splitPolicy);
    const denied = await eventually(async () => {
      const result = await apply(v0);
      return /ApprovalRequest \S+ is Pending/.test(result.stderr) ? result : undefined;
    }, "the first version to wait for approval");
    const name = /ApprovalRequest [^/]+\/(\S+) is Pending/.exec(denied.stderr)?.[1] ?? "";
    await kubectl(["aegis", "approve", name, "-n", splitNs], alice);
    await eventually(async () => ((await apply(v0)).code === 0 ? true : undefined), "the approved version to pass");

    // Now RiskBased: secret-or-env-change +15, then privilege-increase +25 (+10 off hours each);
    // alone each is under 38, together (scored against the approved v0) they are not.
    await kubectl(["apply", "-f", "-"], { input: splitPolicyManifest({ mode: "RiskBased", autoApproveBelow: 38 }) });
    const step1 = await eventually(async () => {
      const result = await apply(v1);
      return result.code === 0 ? result : undefined;
    }, "the first small step to be admitted under RiskBased");
    expect(step1.stderr).toBe("");
    const step2 = await apply(v2);
    expect(step2.code).not.toBe(0);
    expect(step2.stderr).toMatch(/needs 1 approval \(policy \S+, risk (\d+)\/100: /);
    expect(step2.stderr).toMatch(/privilege-increase \+25/);
    expect(step2.stderr).toMatch(/secret-or-env-change \+15/);
    expect(Number(/risk (\d+)\/100/.exec(step2.stderr)?.[1])).toBeGreaterThanOrEqual(40);
  });
});

describe("RiskBased approval in shadow mode (the default)", () => {
  async function shadowFigures(): Promise<Record<string, number>> {
    const text = await (await fetch(`${aegis.apiUrl}/metrics`)).text();
    const figures: Record<string, number> = {};
    for (const match of text.matchAll(/^aegis_risk_shadow_requests\{outcome="([^"]+)"\} (\d+)$/gm))
      figures[match[1] ?? ""] = Number(match[2]);
    return figures;
  }

  it("auto-approves nothing, and counts people agreeing and disagreeing with what it would have done", async () => {
    // No risk section: shadow mode is the default.
    await kubectl(["apply", "-f", "-"], {
      input: riskPolicyManifest(shadowPolicy, shadowNs, { mode: "RiskBased", autoApproveBelow: 38 }, {}),
    });
    await policyReady(shadowPolicy);
    expect((await kubectl(["get", "apol", shadowPolicy, "-o", "jsonpath={.spec.risk.shadow}"])).stdout).toBe("true");
    const before = await shadowFigures();
    const decide = async (name: string, image: string, verb: "approve" | "reject"): Promise<void> => {
      // new-workload +10 (+10 off hours): under 38, which shadow mode does not let decide.
      const denied = await eventually(async () => {
        const result = await apply(deployment(name, image, { namespace: shadowNs }));
        return /shadow mode: below autoApproveBelow/.test(result.stderr) ? result : undefined;
      }, `${name} to wait for a human in shadow mode`);
      const request = /ApprovalRequest [^/]+\/(\S+) is Pending/.exec(denied.stderr)?.[1] ?? "";
      await kubectl(["aegis", verb, request, "-n", shadowNs], alice);
    };
    await decide("agreed", `ghcr.io/acme/agreed@${DIGEST}`, "approve");
    await decide("refused", `ghcr.io/acme/refused@${DIGEST}`, "reject");
    const after = await eventually(async () => {
      const figures = await shadowFigures();
      return (figures["agreed"] ?? 0) > (before["agreed"] ?? 0) &&
        (figures["missed-rejection"] ?? 0) > (before["missed-rejection"] ?? 0)
        ? figures
        : undefined;
    }, "aegis_risk_shadow_requests to count both decisions");
    expect((after["agreed"] ?? 0) - (before["agreed"] ?? 0)).toBe(1);
    expect((after["missed-rejection"] ?? 0) - (before["missed-rejection"] ?? 0)).toBe(1);
    // The same figures from the cluster's ApprovalRequests, per policy.
    const { stdout } = await run(process.execPath, [
      "--import",
      "tsx",
      "src/cli/aegis.ts",
      "risk",
      "report",
      "--kubeconfig",
      kubeconfigPath(),
      "-o",
      "json",
    ]);
    const report = JSON.parse(stdout) as { byPolicy: Record<string, { agreed: number; missedRejections: number }> };
    expect(report.byPolicy[shadowPolicy]).toMatchObject({ agreed: 1, missedRejections: 1, precision: 0.5 });
  });
});

describe("the learned risk model", () => {
  it("retrains on demand from the human decisions above (update on aegispolicies only); the next change names the new model", async () => {
    // A reader of the namespace (not a policy editor) may not retrain; a policy editor may.
    const bystander = await namespaceReaderToken(ns, "bystander");
    await kubectl(["create", "serviceaccount", "trainer", "-n", ns]);
    await kubectl([
      "create",
      "clusterrole",
      `${ns}-trainer`,
      "--verb=update",
      "--resource=aegispolicies.aegis.valina.ai",
    ]);
    await kubectl([
      "create",
      "clusterrolebinding",
      `${ns}-trainer`,
      `--clusterrole=${ns}-trainer`,
      `--serviceaccount=${ns}:trainer`,
    ]);
    const trainer = (
      await kubectl(["create", "token", "trainer", "-n", ns, "--duration=10m", "--audience", "aegis"])
    ).stdout.trim();
    const train = (bearer: string) =>
      run(process.execPath, [
        "--import",
        "tsx",
        "src/cli/aegis.ts",
        "risk",
        "train",
        "--url",
        aegis.apiUrl,
        "--token",
        bearer,
        "-o",
        "json",
      ]).then(
        (result) => ({ code: 0, stdout: result.stdout, stderr: result.stderr }),
        (error: { code: number; stdout: string; stderr: string }) => error,
      );
    const refused = await train(bystander);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/403: .*may not retrain the risk model \(RBAC: verb update on aegispolicies/);

    const before = (await (
      await fetch(`${aegis.apiUrl}/api/risk/model`, {
        headers: { authorization: `Bearer ${bystander}` },
      })
    ).json()) as { version: string };
    const trained = await train(trainer);
    expect(trained.code, trained.stderr).toBe(0);
    const reply = JSON.parse(trained.stdout) as { version: string; published: boolean; trainedOn: number };
    // The approvals and the rejection in this file are what it learnt from.
    expect(reply.trainedOn).toBeGreaterThanOrEqual(3);
    expect(reply.published).toBe(true);
    expect(reply.version).not.toBe(before.version);
    expect(reply.version).toMatch(/^v2-[0-9a-f]{12}$/);

    await apply(
      deployment("after-training", "ghcr.io/acme/web:1.3", {
        container: { ports: [{ containerPort: 8080, hostPort: 18081 }] },
      }),
    );
    const evidence = await eventually(
      async () =>
        (await evidenceAs(aegis, bystander)).find(
          (r) => r.type === "admission.decision" && r.subject === `Deployment/${ns}/after-training`,
        ),
      "the admission of the change after training",
    );
    expect((evidence.data["risk"] as { model?: string } | undefined)?.model).toBe(reply.version);
  });
});
