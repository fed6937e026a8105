// Threat detection through `aegis serve`: a burst of denied changes from one user shows up in
// /api/security/status (lockdown) and in /metrics.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeWebhookConfiguration, startAegisProcess, type RunningAegisProcess } from "./helpers/aegis.js";
import { eventually, kubectl } from "./helpers/kube.js";

const ns = `threat-${randomBytes(3).toString("hex")}`;
const policyName = `${ns}-labels`;
const mallory = { as: "mallory", asGroups: ["developers"] };
const DENIALS = 50;

let aegis: RunningAegisProcess;
/** An on-call engineer: aegis-viewer in every namespace, so the API shows threat details. */
let oncallToken: string;

function unlabelled(index: number): string {
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: `probe-${index}`, namespace: ns },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "probe" } },
      template: {
        metadata: { labels: { app: "probe" } },
        spec: { containers: [{ name: "c", image: "ghcr.io/acme/web:1" }] },
      },
    },
  });
}

beforeAll(async () => {
  await kubectl(["create", "namespace", ns]);
  await kubectl(["create", "rolebinding", "dev-edit", "--clusterrole=edit", "--group=developers", "-n", ns]);
  await kubectl(["create", "serviceaccount", "oncall", "-n", ns]);
  await kubectl([
    "create",
    "clusterrolebinding",
    `${ns}-oncall`,
    "--clusterrole=aegis-viewer",
    `--serviceaccount=${ns}:oncall`,
  ]);
  oncallToken = (
    await kubectl(["create", "token", "oncall", "-n", ns, "--duration=1h", "--audience", "aegis"])
  ).stdout.trim();
  aegis = await startAegisProcess();
  await kubectl(["apply", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "aegis.valina.ai/v1alpha1",
      kind: "AegisPolicy",
      metadata: { name: policyName },
      spec: {
        match: { kinds: ["Deployment"], namespaces: [ns] },
        checks: [{ name: "owner", requiredLabels: ["team"] }],
      },
    }),
  });
  await eventually(async () => {
    const attempt = await kubectl(["apply", "-f", "-"], { ...mallory, input: unlabelled(0), allowFail: true });
    return attempt.code !== 0 && attempt.stderr.includes(`${policyName}/owner`) ? true : undefined;
  }, "the policy to deny");
}, 180_000);

afterAll(async () => {
  await removeWebhookConfiguration();
  await aegis?.stop();
  await kubectl(["delete", "clusterrolebinding", `${ns}-oncall`, "--ignore-not-found"], { allowFail: true });
  await kubectl(["delete", "apol", policyName, "--ignore-not-found"], { allowFail: true });
  await kubectl(["delete", "namespace", ns, "--wait=false"], { allowFail: true });
});

describe("threat detection", () => {
  it(`raises a threat and locks down after ${DENIALS} denied changes from one user in a minute`, async () => {
    for (let index = 1; index < DENIALS; index += 1) {
      const attempt = await kubectl(["apply", "-f", "-"], { ...mallory, input: unlabelled(index), allowFail: true });
      expect(attempt.code).not.toBe(0);
    }
    const status = await eventually(async () => {
      const body = (await (
        await fetch(`${aegis.apiUrl}/api/security/status`, { headers: { authorization: `Bearer ${oncallToken}` } })
      ).json()) as {
        mode: string;
        counts: Record<string, number>;
        recent: { detector: string; source: { name: string } }[];
      };
      return body.mode === "lockdown" ? body : undefined;
    }, "lockdown");
    expect(status.counts["high"]).toBeGreaterThanOrEqual(1);
    expect(status.recent.some((threat) => threat.detector === "denial-burst" && threat.source.name === "mallory")).toBe(
      true,
    );
    const metrics = await (await fetch(`${aegis.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(/aegis_threats_total\{severity="high"\} [1-9]/);
  });
});
