// Evidence that outlives its keeper, against a real API server and PostgreSQL: aegis serve
// publishes each checkpoint to ConfigMap aegis-evidence-checkpoint (which even a cluster admin
// can neither delete nor roll back) and to a witness; records a database superuser deletes
// afterwards are caught against both copies; `aegis evidence collect` packages one subject with
// the live object and its Events, and the package verifies offline.
import { capture } from "../test/helpers/capture.js";
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evidenceCollect } from "../src/cli/evidence-collect.js";
import { evidenceExport, evidenceVerify } from "../src/cli/evidence-commands.js";
import { PUBLISHED_CHECKPOINT_NAME } from "../src/evidence/chain/published-checkpoint.js";
import { startTestWitness, type TestWitness } from "../test/fakes/witness-server.js";
import { generateSigningKey, parsePublicKeyPem, privateKeyToPem } from "../src/evidence/chain/signing.js";
import { DEFAULT_ORIGIN } from "../src/evidence/export.js";
import {
  AEGIS_NAMESPACE,
  removeWebhookConfiguration,
  startAegisProcess,
  type RunningAegisProcess,
} from "./helpers/aegis.js";
import { eventually, kubeconfigPath, kubectl } from "./helpers/kube.js";
import { sql } from "./helpers/postgres.js";
import { e2eTempDir } from "./helpers/tmp.js";

const suffix = randomBytes(3).toString("hex");
const ns = `evidence-${suffix}`;
const policyName = `${ns}-gate`;
const adminDatabaseUrl = process.env["DATABASE_URL"] || "postgres://aegis:aegis@127.0.0.1:5432/aegis";
const databaseName = `aegis_evidence_${suffix}`;
const databaseUrl = (() => {
  const url = new URL(adminDatabaseUrl);
  url.pathname = `/${databaseName}`;
  return url.toString();
})();

let aegis: RunningAegisProcess;
let witness: TestWitness;
let workDir: string;

async function published(): Promise<Record<string, string> | undefined> {
  const result = await kubectl(["get", "configmap", PUBLISHED_CHECKPOINT_NAME, "-n", AEGIS_NAMESPACE, "-o", "json"], {
    allowFail: true,
  });
  if (result.code !== 0) return undefined;
  return (JSON.parse(result.stdout) as { data?: Record<string, string> }).data;
}

function publishedSize(data: Record<string, string> | undefined): number {
  return data === undefined
    ? -1
    : ((JSON.parse(data["checkpoint.json"] ?? "{}") as { checkpoint?: { size?: number } }).checkpoint?.size ?? -1);
}

async function recordCount(): Promise<number> {
  const rows = await sql<{ n: string }>(databaseUrl, "SELECT count(*) AS n FROM evidence_records");
  return Number(rows[0]?.n ?? 0);
}

beforeAll(async () => {
  workDir = await e2eTempDir("aegis-evidence-e2e-");
  await sql(adminDatabaseUrl, `CREATE DATABASE ${databaseName}`);
  // The witness trusts the key AEGIS will sign with: generated now, handed to aegis serve as a file.
  const keyFile = path.join(workDir, "signing-key.pem");
  const key = generateSigningKey();
  await writeFile(keyFile, privateKeyToPem(key), { mode: 0o600 });
  witness = await startTestWitness([{ origin: DEFAULT_ORIGIN, publicKey: key.publicKey }]);
  aegis = await startAegisProcess({
    apiPort: 18771,
    webhookPort: 19471,
    env: {
      DATABASE_URL: databaseUrl,
      AEGIS_EVIDENCE_SIGNING_KEY: keyFile,
      AEGIS_EVIDENCE_CHECKPOINT_INTERVAL: "0.5",
      AEGIS_EVIDENCE_WITNESSES: `${witness.url} ${witness.verifierKey}`,
    },
  });
  await kubectl(["create", "namespace", ns]);
  await kubectl(["apply", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "aegis.valina.ai/v1alpha1",
      kind: "AegisPolicy",
      metadata: { name: policyName },
      spec: {
        enforcement: "Enforce",
        match: { kinds: ["Deployment"], namespaces: [ns] },
        checks: [{ name: "replicas", cel: "object.spec.replicas <= 5", message: "at most 5 replicas" }],
      },
    }),
  });
  await eventually(
    async () =>
      (await kubectl(["get", "apol", policyName, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}"]))
        .stdout === "True"
        ? true
        : undefined,
    "the policy to be Ready",
  );
  await kubectl(["apply", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", namespace: ns },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "web", image: "ghcr.io/acme/web:1.2" }] },
        },
      },
    }),
  });
}, 180_000);

afterAll(async () => {
  await removeWebhookConfiguration();
  await aegis?.stop();
  await witness?.close();
  await kubectl(["delete", "namespace", ns, "--wait=false"], { allowFail: true });
  await kubectl(["delete", "apol", policyName, "--ignore-not-found"], { allowFail: true });
  await sql(adminDatabaseUrl, `DROP DATABASE IF EXISTS ${databaseName} WITH (FORCE)`).catch(() => undefined);
});

describe("published checkpoints", () => {
  it("publishes the leader's checkpoints to the ConfigMap and the witness", async () => {
    const records = await eventually(async () => ((await recordCount()) >= 2 ? recordCount() : undefined), "records");
    const data = await eventually(async () => {
      const current = await published();
      return publishedSize(current) >= records ? current : undefined;
    }, "the ConfigMap to hold a checkpoint over the records");
    expect(data?.["keyId"]).toMatch(/^sha256:/);
    expect(parsePublicKeyPem(data?.["publicKey"] ?? "")).toBeDefined();
    await eventually(
      () => Promise.resolve((witness.stored(DEFAULT_ORIGIN)?.size ?? 0) >= records ? true : undefined),
      "the witness",
    );
  });

  it("refuses a cluster admin's deletion and rollback of the ConfigMap", async () => {
    const deletion = await kubectl(["delete", "configmap", PUBLISHED_CHECKPOINT_NAME, "-n", AEGIS_NAMESPACE], {
      allowFail: true,
    });
    expect(deletion.code).not.toBe(0);
    expect(deletion.stderr).toMatch(/append-only: it cannot be deleted/);
    const forged = await kubectl(
      [
        "patch",
        "configmap",
        PUBLISHED_CHECKPOINT_NAME,
        "-n",
        AEGIS_NAMESPACE,
        "--type=merge",
        "-p",
        JSON.stringify({ data: { checkpoint: "x\n1\nAAAA\n\n— x AAAA\n" } }),
      ],
      { allowFail: true },
    );
    expect(forged.code).not.toBe(0);
    expect(forged.stderr).toMatch(/not AEGIS's/);
  });

  it("packages one subject with the live object and its Events; the package verifies offline", async () => {
    const out = path.join(workDir, "package.json");
    const stderr = capture();
    expect(
      await evidenceCollect({
        subject: `Deployment/${ns}/web`,
        databaseUrl,
        dataDir: workDir,
        kubeconfig: kubeconfigPath(),
        out,
        stderr,
      }),
    ).toBe(0);
    const pkg = JSON.parse(await readFile(out, "utf8")) as {
      kubernetes: { object: { metadata: { name: string } } | null; events: unknown[] };
      custody: { collector: string; authenticated: boolean };
    };
    expect(pkg.kubernetes.object?.metadata.name).toBe("web");
    expect(pkg.custody.authenticated).toBe(true);
    expect(pkg.custody.collector).not.toMatch(/^os:/);
    const stdout = capture();
    const keyId = (await published())?.["keyId"] ?? "";
    const code = await evidenceVerify({ bundle: out, keyId, stdout });
    expect(stdout.text()).toMatch(/custody package for Deployment\/.*\/web/);
    expect(code, stdout.text()).toBe(0);
  });
  it("catches records a database superuser deleted, against the ConfigMap's and the witness's copy", async () => {
    // One read of each copy: the leader keeps publishing every 0.5 s, so a second read of the
    // ConfigMap could name a larger size than the note kept from the first.
    const configMap = await published();
    const keyId = configMap?.["keyId"] ?? "";
    const kept = path.join(workDir, "configmap.note");
    await writeFile(kept, configMap?.["checkpoint"] ?? "");
    const { cosigned = "", size: witnessSize = -1 } = witness.stored(DEFAULT_ORIGIN) ?? {};
    const witnessCopy = path.join(workDir, "witness.note");
    await writeFile(witnessCopy, cosigned);
    const copies = [
      { file: kept, size: publishedSize(configMap) },
      { file: witnessCopy, size: witnessSize },
    ];
    const size = Math.min(...copies.map((copy) => copy.size));
    expect(size).toBeGreaterThan(1);
    const bundle = path.join(workDir, "before.json");
    await evidenceExport({ databaseUrl, dataDir: workDir, out: bundle, stderr: capture() });
    expect(await evidenceVerify({ bundle, keyId, checkpoint: kept, stdout: capture() })).toBe(0);

    await sql(
      databaseUrl,
      `ALTER TABLE evidence_records DISABLE TRIGGER USER; ALTER TABLE evidence_checkpoints DISABLE TRIGGER USER;
       DELETE FROM evidence_records WHERE seq >= ${size - 1}; DELETE FROM evidence_checkpoints;
       ALTER TABLE evidence_records ENABLE TRIGGER USER; ALTER TABLE evidence_checkpoints ENABLE TRIGGER USER;`,
    );
    const after = path.join(workDir, "after.json");
    await evidenceExport({ databaseUrl, dataDir: workDir, out: after, stderr: capture() });
    for (const copy of copies) {
      const stdout = capture();
      expect(await evidenceVerify({ bundle: after, keyId, checkpoint: copy.file, stdout })).toBe(1);
      expect(stdout.text()).toMatch(new RegExp(`log (truncated|rewritten): your checkpoint note .* ${copy.size}`));
    }
  });
});
