// Deliveries of deployment_protection_rule as GitHub sends them, and the ApprovalRequests and
// decisions they are answered from, for the tests in this folder.
import { GIT_COMMIT_ANNOTATION } from "../../../src/api/git-reference.js";
import type { ApprovalRequest, Decision } from "../../../src/api/v1alpha1/index.js";
import { githubSignature } from "../../../src/http/github-webhook.js";
import { approvalRequest, type Harness } from "../http/harness.js";
import type { FakeGitHub } from "./fake-github.js";

export const SECRET = "gh-webhook-secret";
export const TOKEN = "ghs_installation_token";
export const SHA = "0123456789abcdef0123456789abcdef01234567";
export const OTHER_SHA = "fedcba9876543210fedcba9876543210fedcba98";

let run = 1000;

/** A run waiting on the rule in GitHub, and the payload GitHub sends for it. */
export function deploymentRequested(
  github: FakeGitHub,
  overrides: { environment?: string; sha?: string; url?: string } = {},
): {
  runId: number;
  payload: Record<string, unknown>;
} {
  const runId = ++run;
  const environment = overrides.environment ?? "production";
  github.waitForReview("acme", "web", runId, environment);
  return {
    runId,
    payload: {
      action: "requested",
      environment,
      event: "push",
      deployment_callback_url:
        overrides.url ?? `${github.baseUrl}/repos/acme/web/actions/runs/${runId}/deployment_protection_rule`,
      deployment: {
        id: runId,
        sha: overrides.sha ?? SHA,
        ref: "main",
        environment,
        payload: {},
      },
      repository: { id: 1, name: "web", full_name: "acme/web", owner: { login: "acme" } },
      installation: { id: 42 },
      sender: { login: "dev" },
    },
  };
}

let deliveries = 0;
export function send(
  base: string,
  payload: unknown,
  options: { delivery?: string; signature?: string | null; event?: string } = {},
): Promise<Response> {
  const body = typeof payload === "string" ? payload : JSON.stringify(payload);
  const signature = options.signature === undefined ? githubSignature(SECRET, body) : options.signature;
  return fetch(`${base}/github/webhook`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      "x-github-event": options.event ?? "deployment_protection_rule",
      "x-github-delivery": options.delivery ?? `72d3162e-cc78-11e3-81ab-${String(++deliveries).padStart(12, "0")}`,
      ...(signature !== null ? { "x-hub-signature-256": signature } : {}),
    },
    body,
  });
}

export function request(name: string, namespace: string, annotations: Record<string, string> = {}): ApprovalRequest {
  return approvalRequest(name, { namespace, annotations: { [GIT_COMMIT_ANNOTATION]: SHA, ...annotations } });
}

export function decision(user: string, kind: Decision["decision"], comment = ""): Decision {
  return { user, decision: kind, comment, at: new Date().toISOString(), via: "kubectl" };
}

/** What the API server does with `kubectl aegis approve`: the decision lands in the cache. */
export async function decide(h: Harness, stored: ApprovalRequest, made: Decision): Promise<void> {
  const current = h.approvals.get(stored.metadata.name ?? "", stored.metadata.namespace) ?? stored;
  await h.approvals.appendDecision(current, made);
}

export async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
