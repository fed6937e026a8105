// charts/aegis against a real kube-apiserver: everything the chart renders is accepted by
// `kubectl apply --dry-run=server` (schema validation, defaulting, admission — Pod Security
// `restricted` included), and the uninstall hook's script really deletes a webhook configuration.
// Nothing is created but a scratch namespace and a scratch, empty ValidatingWebhookConfiguration,
// both removed afterwards: the cluster is shared with the other e2e tests.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import type { V1Job } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildHelm,
  findObject,
  HELM_BUILD_TIMEOUT_MS,
  type KubeObject,
  renderChart,
  repoRoot,
} from "../test/integration/chart/helm.js";
import { kubeconfigPath, kubectl } from "./helpers/kube.js";

const NS = `aegis-chart-e2e-${randomBytes(3).toString("hex")}`;

/** Kinds whose CRDs (cert-manager, prometheus-operator) this cluster does not have. */
const FOREIGN_GROUPS = ["cert-manager.io/", "monitoring.coreos.com/"];

function toYamlStream(objects: KubeObject[]): string {
  return objects.map((o) => JSON.stringify(o)).join("\n---\n");
}

async function dryRunApply(objects: KubeObject[]): Promise<{ stdout: string; stderr: string }> {
  const result = await kubectl(["apply", "--dry-run=server", "-f", "-"], {
    input: toYamlStream(objects),
    allowFail: true,
  });
  expect(result.code, `kubectl apply --dry-run=server failed:\n${result.stderr}`).toBe(0);
  return result;
}

beforeAll(async () => {
  await buildHelm();
  // Pod Security `restricted` in enforce and warn mode: the chart's pods must pass it as they are.
  await kubectl(["apply", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: {
        name: NS,
        labels: {
          "pod-security.kubernetes.io/enforce": "restricted",
          "pod-security.kubernetes.io/enforce-version": "latest",
          "pod-security.kubernetes.io/warn": "restricted",
          "pod-security.kubernetes.io/warn-version": "latest",
        },
      },
    }),
  });
}, HELM_BUILD_TIMEOUT_MS);

afterAll(async () => {
  await kubectl(["delete", "namespace", NS, "--ignore-not-found", "--wait=false"], { allowFail: true });
});

describe("charts/aegis on a real kube-apiserver (server-side dry run)", () => {
  it("accepts every object rendered with the defaults (and PostgreSQL), with no Pod Security warning", async () => {
    const { objects } = await renderChart({ namespace: NS, set: { "database.existingSecret.name": "aegis-db" } });
    const { stdout, stderr } = await dryRunApply(objects);
    for (const object of objects) {
      expect(stdout, `${object.kind} ${object.metadata.name}`).toMatch(
        new RegExp(`/${object.metadata.name} \\w+ \\(server dry run\\)`),
      );
    }
    expect(stderr).not.toMatch(/would violate PodSecurity/);
  });

  it("accepts the cert-manager mode's objects, its ValidatingWebhookConfiguration included", async () => {
    const { objects } = await renderChart({
      namespace: NS,
      set: {
        "webhook.certManager.enabled": "true",
        "networkPolicy.enabled": "true",
        "database.url": "postgres://db/aegis",
      },
      values: {
        slack: { enabled: true, existingSecret: "slack", users: { U0123ABCD: "alice" } },
        github: { enabled: true, existingSecret: "github", webhookSecretKey: "webhook-secret" },
      },
    });
    const known = objects.filter((o) => !FOREIGN_GROUPS.some((group) => o.apiVersion.startsWith(group)));
    expect(known.some((o) => o.kind === "ValidatingWebhookConfiguration")).toBe(true);
    expect(known.length).toBe(objects.length - 2); // the Issuer and the Certificate
    const { stdout, stderr } = await dryRunApply(known);
    expect(stdout).toMatch(
      /validatingwebhookconfiguration\.admissionregistration\.k8s\.io\/aegis \w+ \(server dry run\)/,
    );
    expect(stdout).toMatch(/networkpolicy\.networking\.k8s\.io\/aegis \w+ \(server dry run\)/);
    expect(stderr).not.toMatch(/would violate PodSecurity/);
  });
});

function runNode(args: string[], env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
  });
}

describe("the uninstall hook", () => {
  it("runs the Job's script, which deletes the configuration it names and tolerates its absence", async () => {
    const { objects } = await renderChart({ namespace: NS, set: { replicaCount: "1" } });
    const job = findObject<V1Job>(objects, "Job", "aegis-cleanup");
    const c = job.spec?.template.spec?.containers[0];
    expect(c?.command).toEqual(["node", "--input-type=module", "-e"]);
    expect(c?.env).toEqual([{ name: "WEBHOOK_CONFIGURATION_NAME", value: "aegis" }]);
    const script = c?.args?.[0] ?? "";

    // A scratch configuration with no webhooks (it intercepts nothing), never the real `aegis`.
    const name = `aegis-chart-e2e-${randomBytes(3).toString("hex")}`;
    await kubectl(["create", "-f", "-"], {
      input: JSON.stringify({
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "ValidatingWebhookConfiguration",
        metadata: { name },
      }),
    });
    try {
      const env = { WEBHOOK_CONFIGURATION_NAME: name, KUBECONFIG: kubeconfigPath() };
      const first = await runNode(["--input-type=module", "-e", script], env);
      expect(first.code, first.output).toBe(0);
      expect(first.output).toContain(`deleted ValidatingWebhookConfiguration ${name}`);
      const gone = await kubectl(["get", "validatingwebhookconfiguration", name], { allowFail: true });
      expect(gone.code).not.toBe(0);
      const again = await runNode(["--input-type=module", "-e", script], env);
      expect(again.code, again.output).toBe(0);
      expect(again.output).toContain(`ValidatingWebhookConfiguration ${name} is already gone`);
    } finally {
      await kubectl(["delete", "validatingwebhookconfiguration", name, "--ignore-not-found"], { allowFail: true });
    }
  });
});
