// RiskBased approval with two thresholds on the real kube-apiserver: a change scoring below
// autoApproveBelow is admitted with no request, one in between waits for an approver, and one
// above blockAbove is denied with its score and factors, opening no request that could admit it.
// Scores are v1's fixed factors; "outside working hours" (+10) depends on the clock, so each
// change sits at least 10 points inside its band.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeWebhookConfiguration, startAegisProcess, type RunningAegisProcess } from "./helpers/aegis.js";
import { eventually, kubectl, policyReady } from "./helpers/kube.js";

const ns = `risk-${randomBytes(3).toString("hex")}`;
const policyName = `${ns}-risk`;
const dev = { as: "dev", asGroups: ["developers"] };
const alice = { as: "alice", asGroups: ["sre-leads"] };
const DIGEST = `sha256:${"ab".repeat(32)}`;

function deployment(
  name: string,
  image: string,
  { pod = {}, container = {} }: { pod?: Record<string, unknown>; container?: Record<string, unknown> } = {},
): string {
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: ns },
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

beforeAll(async () => {
  await kubectl(["create", "namespace", ns]);
  await kubectl(["create", "rolebinding", "dev-edit", "--clusterrole=edit", "--group=developers", "-n", ns]);
  await kubectl(["create", "rolebinding", "approvers", "--clusterrole=aegis-approver", "--group=sre-leads", "-n", ns]);
  await kubectl(["apply", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "aegis.valina.ai/v1alpha1",
      kind: "AegisPolicy",
      metadata: { name: policyName },
      spec: {
        enforcement: "Enforce",
        match: { kinds: ["Deployment"], namespaces: [ns] },
        approval: { mode: "RiskBased", autoApproveBelow: 25, blockAbove: 55, approvers: { groups: ["sre-leads"] } },
      },
    }),
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
  await kubectl(["delete", "apol", policyName, "--ignore-not-found"], { allowFail: true });
  await kubectl(["delete", "namespace", ns, "--wait=false"], { allowFail: true });
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
