// AegisExceptions on the real kube-apiserver: a developer (edit in the namespace) asks for an
// exception to one check; it waives nothing until an approver of the policy approves it (the
// requester cannot, even when an approver); once approved the waived violation is admitted, the
// status and `kubectl get aex` say Active, and the evidence names the exception; at expiresAt it
// turns Expired and the same violation is denied again. `aegis policy test --exceptions` applies
// the same expiry offline.
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
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
import { e2eTempDir } from "./helpers/tmp.js";
import { createTeamNamespace, eventually, kubectl, policyReady } from "./helpers/kube.js";

const run = promisify(execFile);
const repoRoot = path.resolve(import.meta.dirname, "..");

const ns = `aex-${randomBytes(3).toString("hex")}`;
const policyName = `${ns}-baseline`;
const dev = { as: "dev", asGroups: ["developers"] };
const alice = { as: "alice", asGroups: ["sre-leads"] };
/** Alice may also edit the namespace: an approver who can ask for an exception herself. */
const aliceAsDeveloper = { as: "alice", asGroups: ["sre-leads", "developers"] };
/** The exception's life: long enough for the steps before expiry, short enough to wait out. */
const LIFETIME_MS = 45_000;

const policy = {
  apiVersion: "aegis.valina.ai/v1alpha1",
  kind: "AegisPolicy",
  metadata: { name: policyName },
  spec: {
    enforcement: "Enforce",
    match: { kinds: ["Deployment"], namespaces: [ns] },
    checks: [
      { name: "no-latest", disallowLatestTag: true },
      { name: "resources", requireResources: { limits: ["memory"] } },
    ],
    approval: { mode: "Never", approvers: { groups: ["sre-leads"] } },
    maxExceptionDuration: "1h",
  },
};

function deployment(image: string, name = "vendor"): string {
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: ns },
    spec: {
      replicas: 0,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: "app", image, resources: { limits: { memory: "64Mi" } } }] },
      },
    },
  });
}

function exceptionManifest(
  name: string,
  expiresAt: Date,
  reason = "vendor ships only :latest until v2",
): Record<string, unknown> {
  return {
    apiVersion: "aegis.valina.ai/v1alpha1",
    kind: "AegisException",
    metadata: { name, namespace: ns },
    spec: {
      target: { kind: "Deployment", name: "vendor" },
      policies: [policyName],
      checks: ["no-latest"],
      owner: "team-vendor",
      reason,
      ticket: "SEC-7",
      expiresAt: expiresAt.toISOString(),
    },
  };
}

/** The background audit's result for Deployment vendor's no-latest check, once it is `result`. */
async function auditResult(result: string): Promise<{ result: string; message?: string }> {
  return eventually(
    async () => {
      const got = await kubectl(["get", "policyreports.wgpolicyk8s.io", "aegis-audit", "-n", ns, "-o", "json"], {
        allowFail: true,
      });
      if (got.code !== 0) return undefined;
      const report = JSON.parse(got.stdout) as {
        results?: { rule: string; result: string; message?: string; resources?: { name: string }[] }[];
      };
      return report.results?.find(
        (r) => r.rule === "no-latest" && r.result === result && r.resources?.[0]?.name === "vendor",
      );
    },
    `the audit to report Deployment vendor ${result} for no-latest`,
    { timeoutMs: 60_000, intervalMs: 500 },
  );
}

const apply = (manifest: string, who = dev) =>
  kubectl(["apply", "-f", "-"], { ...who, input: manifest, allowFail: true });
const requestOf = (stderr: string): string => /kubectl aegis approve (\S+) -n/.exec(stderr)?.[1] ?? "";
const phaseOf = async (name: string): Promise<string> =>
  (await kubectl(["get", "aex", name, "-n", ns, "-o", "jsonpath={.status.phase}"], { allowFail: true })).stdout.trim();

let aegis: RunningAegisProcess;
let expiresAt: Date;
let exceptionFile: string;

beforeAll(async () => {
  await createTeamNamespace(ns);
  await kubectl(["apply", "-f", "-"], { input: JSON.stringify(policy) });
  aegis = await startAegisProcess({ apiPort: 18783, webhookPort: 19483, env: { AEGIS_LOG_LEVEL: "info" } });
  await policyReady(policyName);
  await eventually(async () => {
    const dry = await kubectl(["apply", "--dry-run=server", "-f", "-"], {
      ...dev,
      input: deployment("nginx:latest"),
      allowFail: true,
    });
    return /no-latest/.test(dry.stderr) ? true : undefined;
  }, "the gate to deny the :latest image");
}, 300_000);

afterAll(async () => {
  await removeWebhookConfiguration();
  await aegis?.stop();
  await kubectl(["delete", "apol", policyName, "--ignore-not-found"], { allowFail: true });
  await kubectl(["delete", "namespace", ns, "--wait=false"], { allowFail: true });
});

describe("AegisException", () => {
  it("waives nothing until an approver of the policy approves it; the requester may not", async () => {
    const denied = await apply(deployment("nginx:latest"));
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain(`${policyName}/no-latest`);

    expiresAt = new Date(Date.now() + LIFETIME_MS);
    const manifest = exceptionManifest("vendor-latest", expiresAt);
    exceptionFile = path.join(await e2eTempDir("aex-"), "exception.yaml");
    await writeFile(exceptionFile, JSON.stringify(manifest));
    const requested = await apply(JSON.stringify(manifest));
    expect(requested.code, requested.stderr).toBe(0);
    expect(requested.stderr).toContain("waives nothing until approved");
    const requestName = requestOf(requested.stderr);
    expect(requestName).not.toBe("");
    await eventually(async () => ((await phaseOf("vendor-latest")) === "Pending" ? true : undefined), "phase Pending");
    const request = JSON.parse((await kubectl(["get", "areq", requestName, "-n", ns, "-o", "json"])).stdout) as {
      spec: { requester: { username: string }; target: { kind: string; name: string } };
    };
    expect(request.spec.requester.username).toBe("dev");
    expect(request.spec.target).toMatchObject({ kind: "AegisException", name: "vendor-latest" });
    expect((await apply(deployment("nginx:latest"))).code).not.toBe(0);

    // An approver who asked for an exception may not approve it herself.
    const own = await apply(JSON.stringify(exceptionManifest("alice-own", expiresAt)), aliceAsDeveloper);
    expect(own.code, own.stderr).toBe(0);
    const selfApproval = await kubectl(["aegis", "approve", requestOf(own.stderr), "-n", ns], {
      ...alice,
      allowFail: true,
    });
    expect(selfApproval.code).not.toBe(0);
    expect(selfApproval.stderr).toMatch(/does not allow self-approval/);

    // Writing status by hand changes nothing: the gate derives the standing from the request.
    await kubectl(
      [
        "patch",
        "aex",
        "alice-own",
        "-n",
        ns,
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"phase":"Active"}}',
      ],
      { allowFail: true },
    );
    expect((await apply(deployment("nginx:latest"))).code).not.toBe(0);

    const approved = await kubectl(["aegis", "approve", requestName, "-n", ns], alice);
    expect(approved.stdout).toMatch(/approved by alice/);
    await eventually(async () => ((await phaseOf("vendor-latest")) === "Active" ? true : undefined), "phase Active");
    const table = (await kubectl(["get", "aex", "-n", ns])).stdout;
    expect(table).toMatch(/vendor-latest\s+Active\s+Deployment\s+vendor/);
  });

  it("admits the waived violation, names the exception in a warning and the evidence, and waives only that check", async () => {
    const admitted = await apply(deployment("nginx:latest"));
    expect(admitted.code, admitted.stderr).toBe(0);
    expect(admitted.stderr).toContain(
      `${policyName}/no-latest waived by AegisException ${ns}/vendor-latest (team-vendor, SEC-7)`,
    );
    // Another object of the namespace gets no waiver.
    expect((await apply(deployment("nginx:latest", "other"))).code).not.toBe(0);

    const token = await namespaceReaderToken(ns);
    const records = await eventually(async () => {
      const items = await evidenceAs(aegis, token);
      const types = new Set(items.map((r) => r.type));
      return types.has("exception.requested") && types.has("exception.transition") ? items : undefined;
    }, "exception evidence");
    expect(
      records.find((r) => r.type === "exception.requested" && r.subject === `AegisException/${ns}/vendor-latest`)
        ?.actor,
    ).toBe("dev");
    expect(
      records.find((r) => r.type === "exception.transition" && r.data["to"] === "Active")?.data["approvers"],
    ).toEqual(["alice"]);
    // The background audit judges what runs by the same rule: skip, naming the exception.
    expect((await auditResult("skip")).message).toContain(`waived by AegisException ${ns}/vendor-latest`);
    const used = records.find((r) => r.type === "admission.decision" && Array.isArray(r.data["exceptions"]));
    expect(used?.data["exceptions"]).toEqual([
      expect.objectContaining({ exception: `${ns}/vendor-latest`, check: "no-latest" }),
    ]);
  });

  it("applies the same expiry in aegis policy test --exceptions", async () => {
    const policyFile = path.join(path.dirname(exceptionFile), "policy.yaml");
    const resourceFile = path.join(path.dirname(exceptionFile), "deployment.yaml");
    await writeFile(policyFile, JSON.stringify(policy));
    await writeFile(resourceFile, deployment("nginx:latest"));
    const cli = (args: string[]) =>
      run(process.execPath, ["--import", "tsx", path.join(repoRoot, "src/cli/aegis.ts"), "policy", "test", ...args], {
        cwd: repoRoot,
      }).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const before = await cli([
      policyFile,
      resourceFile,
      "--exceptions",
      exceptionFile,
      "--now",
      new Date(expiresAt.getTime() - 1000).toISOString(),
    ]);
    expect(before.code, before.stderr).toBe(0);
    expect(before.stdout).toContain(`waived by AegisException ${ns}/vendor-latest`);
    const after = await cli([
      policyFile,
      resourceFile,
      "--exceptions",
      exceptionFile,
      "--now",
      expiresAt.toISOString(),
    ]);
    expect(after.code).toBe(1);
    expect(after.stderr).toContain(`AegisException ${ns}/vendor-latest waives nothing: expired`);
  });

  it("turns Expired at expiresAt, and the same violation is denied again", async () => {
    await eventually(async () => ((await phaseOf("vendor-latest")) === "Expired" ? true : undefined), "phase Expired", {
      timeoutMs: LIFETIME_MS + 30_000,
      intervalMs: 500,
    });
    expect((await kubectl(["get", "aex", "-n", ns])).stdout).toMatch(/vendor-latest\s+Expired/);
    // What still runs under the expired waiver fails the audit again.
    await auditResult("fail");
    // A changed spec (so not an unchanged re-apply) with the waived violation: denied.
    const denied = await apply(deployment("nginx:latest").replace('"replicas":0', '"replicas":0,"minReadySeconds":1'));
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain(`${policyName}/no-latest`);
  }, 120_000);
});
