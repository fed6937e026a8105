// buildIntegrations wires deployment protection rules the way main.ts uses them: the gate in the
// webhook's settings, poked on ApprovalRequest changes, answering through Octokit with GITHUB_TOKEN
// to GITHUB_API_URL.
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildIntegrations } from "../../../src/wiring/integrations.js";
import { harness, listen, silentLogger } from "../http/harness.js";
import { decide, decision, deploymentRequested, request, SECRET, send, TOKEN, until } from "./deliveries.js";
import { startFakeGitHub, type FakeGitHub } from "./fake-github.js";

let github: FakeGitHub;

beforeAll(async () => {
  github = await startFakeGitHub(TOKEN);
});
afterAll(async () => {
  await github.close();
});

describe("GitHub integration wiring", () => {
  it("is wired by buildIntegrations from GITHUB_TOKEN, GITHUB_API_URL and GITHUB_WEBHOOK_SECRET, as main.ts does", async () => {
    const h = harness();
    const integrations = buildIntegrations({
      settings: { GITHUB_TOKEN: TOKEN, GITHUB_API_URL: github.baseUrl, GITHUB_WEBHOOK_SECRET: SECRET },
      kubeConfig: new KubeConfig(),
      namespace: "aegis",
      deploymentSources: {
        approvals: h.approvals,
        policies: h.policies,
        namespaceLabels: () => ({}),
        extraApprovals: () => 0,
        now: () => new Date(),
        logger: silentLogger,
      },
    });
    expect(integrations.deployments).toBeDefined();
    const running = await listen({ ...h.deps, ...integrations.api });
    const stored = h.approvals.put(request("deployment-web-0123456789", "production"));
    const { runId, payload } = deploymentRequested(github);
    expect((await send(running.url, payload)).status).toBe(202);
    await decide(h, stored, decision("alice", "Approve"));
    integrations.deployments?.poke();
    await until(() => github.reviews.length === 1, "the answer");
    expect(github.reviews[0]).toMatchObject({ runId, authorization: `token ${TOKEN}`, body: { state: "approved" } });
    await running.close();
    await integrations.close();

    const without = buildIntegrations({
      settings: { GITHUB_WEBHOOK_SECRET: SECRET },
      kubeConfig: new KubeConfig(),
      namespace: "aegis",
    });
    expect(without.deployments).toBeUndefined();
    expect(without.api.github).toEqual({ webhookSecret: SECRET });
  });
});
