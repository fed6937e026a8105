// Quorum by group, revocation and single use on the real kube-apiserver (DESIGN §2): a change
// approved by two sre-leads but no one from security stays denied and says what is missing; a
// decision that claims a group its caller is not in is refused by the webhook; a revoked approval
// no longer admits; a singleUse approval admits once, so a rolled-back and re-applied change needs
// a new one; a freeze window denies even an approved change until it closes; a quorum with min 0
// and a recurring freeze window without a time zone are refused by the API server; break-glass
// admits an on-call member at once, raises an Event and a metric, and its review falls overdue;
// kubectl exec into a pod on the real node needs an approved AccessRequest, valid for its ttl.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AEGIS_USERNAME,
  removeWebhookConfiguration,
  leading,
  startAegisProcess,
  type RunningAegisProcess,
} from "./helpers/aegis.js";
import { createTeamNamespace, eventually, kubectl, policyReady } from "./helpers/kube.js";

const suffix = randomBytes(3).toString("hex");
const ns = `quorum-${suffix}`;
const policyName = `${ns}-gate`;
const dev = { as: "dev", asGroups: ["developers"] };
const alice = { as: "alice", asGroups: ["sre-leads"] };
const bob = { as: "bob", asGroups: ["sre-leads"] };
const carol = { as: "carol", asGroups: ["sre-leads"] };
const sam = { as: "sam", asGroups: ["security"] };

const deployment = (image: string): string =>
  JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: ns },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: "web" } },
      template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "web", image }] } },
    },
  });

const policy = (approval: Record<string, unknown>, name = policyName): string =>
  JSON.stringify({
    apiVersion: "aegis.valina.ai/v1alpha1",
    kind: "AegisPolicy",
    metadata: { name },
    spec: { enforcement: "Enforce", match: { kinds: ["Deployment"], namespaces: [ns] }, checks: [], approval },
  });

const singleUseQuorum = {
  mode: "Always",
  minApprovals: 1,
  singleUse: true,
  quorum: [
    { group: "sre-leads", min: 1 },
    { group: "security", min: 1 },
  ],
};

let aegis: RunningAegisProcess;

const imageOfWeb = () =>
  kubectl(["get", "deployment", "web", "-n", ns, "-o", "jsonpath={.spec.template.spec.containers[0].image}"]);

const apply = (image: string) => kubectl(["apply", "-f", "-"], { ...dev, input: deployment(image), allowFail: true });

function requestNameFrom(message: string): string {
  const match = /ApprovalRequest [^/]+\/(\S+) (is|was)/.exec(message);
  if (!match?.[1]) throw new Error(`no ApprovalRequest named in: ${message}`);
  return match[1];
}

async function phaseOf(name: string): Promise<string | undefined> {
  const result = await kubectl(["get", "areq", name, "-n", ns, "-o", "jsonpath={.status.phase}"], { allowFail: true });
  return result.code === 0 ? result.stdout : undefined;
}

async function waitForPhase(name: string, phase: string): Promise<void> {
  await eventually(async () => ((await phaseOf(name)) === phase ? true : undefined), `${name} to be ${phase}`, {
    timeoutMs: 30_000,
    intervalMs: 100,
  });
}

/** Applies until the gate's answer satisfies `done` (the gate reads requests from its watch cache). */
async function applyUntil(image: string, done: (result: { code: number; stderr: string }) => boolean, what: string) {
  return eventually(async () => {
    const result = await apply(image);
    return done(result) ? result : undefined;
  }, what);
}

beforeAll(async () => {
  await kubectl(["create", "namespace", ns]);
  await kubectl(["create", "rolebinding", "dev-edit", "--clusterrole=edit", "--group=developers", "-n", ns]);
  for (const group of ["sre-leads", "security"]) {
    await kubectl([
      "create",
      "rolebinding",
      `approvers-${group}`,
      "--clusterrole=aegis-approver",
      `--group=${group}`,
      "-n",
      ns,
    ]);
  }
  aegis = await startAegisProcess({ apiPort: 18772, webhookPort: 19473, env: { AEGIS_LOG_LEVEL: "info" } });
  // status.missing is the leader's work (the approval reconciler): lead first.
  await leading(aegis);
  await kubectl(["apply", "-f", "-"], {
    input: policy({
      mode: "Always",
      minApprovals: 1,
      quorum: [
        { group: "sre-leads", min: 1 },
        { group: "security", min: 1 },
      ],
    }),
  });
  await policyReady(policyName);
}, 300_000);

afterAll(async () => {
  await removeWebhookConfiguration();
  await aegis?.stop();
  // Requests first: judged without their policy they would change phase under later files' AEGIS.
  await kubectl(["delete", "areq", "--all", "-n", ns], { allowFail: true });
  await kubectl(["delete", "apol", policyName, "--ignore-not-found"], { allowFail: true });
  await kubectl(["delete", "namespace", ns, "--wait=false"], { allowFail: true });
});

describe("approval quorum by group", () => {
  it("refuses a quorum with min 0 and an access ttl over 24 h at the API server, naming the field", async () => {
    const refused = await kubectl(["apply", "-f", "-"], {
      input: policy({ mode: "Always", quorum: [{ group: "security", min: 0 }] }, `${ns}-bad`),
      allowFail: true,
    });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/spec\.approval\.quorum\[0\]\.min/);
    const longTtl = JSON.parse(policy({ mode: "Always" }, `${ns}-bad-ttl`)) as { spec: Record<string, unknown> };
    longTtl.spec["access"] = { exec: "RequireApproval", ttl: "25h" };
    const ttl = await kubectl(["apply", "-f", "-"], { input: JSON.stringify(longTtl), allowFail: true });
    expect(ttl.code).not.toBe(0);
    expect(ttl.stderr).toContain('spec.access.ttl: Invalid value: "25h": ttl must be more than 0 and at most 24h');
  });

  it("denies a change approved by two sre-leads and no one from security, saying what is missing", async () => {
    const first = await apply("ghcr.io/acme/web:1.0");
    expect(first.code).not.toBe(0);
    expect(first.stderr).toContain("needs 2 approvals");
    const name = requestNameFrom(first.stderr);

    expect((await kubectl(["aegis", "approve", name, "-n", ns], alice)).stdout).toMatch(/approved by alice/);
    expect((await kubectl(["aegis", "approve", name, "-n", ns], bob)).stdout).toMatch(/approved by bob/);

    const denied = await applyUntil(
      "ghcr.io/acme/web:1.0",
      (result) => result.stderr.includes("1 more from security") && !result.stderr.includes("sre-leads"),
      "the denial to name only the missing security approval",
    );
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain(`ApprovalRequest ${ns}/${name} is Pending (still missing: 1 more from security)`);
    expect(await phaseOf(name)).toBe("Pending");
    const described = await eventually(async () => {
      const out = (await kubectl(["aegis", "describe", name, "-n", ns])).stdout;
      return out.includes("Missing:     1 more from security") ? out : undefined;
    }, "kubectl aegis describe to say 1 more from security");
    expect(described).toMatch(/Approvals: {3}2\/2/);

    // carol is a sre-lead, not in security: a hand-made decision claiming security is refused.
    const current = JSON.parse((await kubectl(["get", "areq", name, "-n", ns, "-o", "json"])).stdout) as {
      metadata: { resourceVersion: string };
    };
    const forged = [
      { op: "test", path: "/metadata/resourceVersion", value: current.metadata.resourceVersion },
      {
        op: "add",
        path: "/spec/decisions/-",
        value: {
          user: "carol",
          decision: "Approve",
          groups: ["security"],
          comment: "",
          at: new Date().toISOString(),
          via: "kubectl",
        },
      },
    ];
    const refused = await kubectl(["patch", "areq", name, "-n", ns, "--type=json", "-p", JSON.stringify(forged)], {
      ...carol,
      allowFail: true,
    });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("decision claims group security the caller carol is not in");

    expect((await kubectl(["aegis", "approve", name, "-n", ns], sam)).stdout).toMatch(/approved by sam/);
    await waitForPhase(name, "Approved");
    await applyUntil("ghcr.io/acme/web:1.0", (result) => result.code === 0, "the approved change to be admitted");
  });

  it("no longer admits a change once an approval it needed is revoked", async () => {
    const first = await apply("ghcr.io/acme/web:1.1");
    expect(first.code).not.toBe(0);
    const name = requestNameFrom(first.stderr);
    await kubectl(["aegis", "approve", name, "-n", ns], alice);
    await kubectl(["aegis", "approve", name, "-n", ns], sam);
    await waitForPhase(name, "Approved");

    expect((await kubectl(["aegis", "revoke", name, "-n", ns, "-m", "wrong image"], sam)).stdout).toMatch(
      /revoked by sam/,
    );
    await waitForPhase(name, "Pending");
    const denied = await applyUntil(
      "ghcr.io/acme/web:1.1",
      (result) => result.code !== 0 && result.stderr.includes("still missing: 1 more from security"),
      "the revoked change to be denied again",
    );
    expect(denied.stderr).toContain(`ApprovalRequest ${ns}/${name} is Pending`);
    const image = await imageOfWeb();
    expect(image.stdout).toBe("ghcr.io/acme/web:1.0");

    // Revoking twice, or someone else's approval, is refused by the webhook.
    const again = await kubectl(["aegis", "revoke", name, "-n", ns], { ...sam, allowFail: true });
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain("sam has no standing approval to revoke");
  });

  it("admits a change once under singleUse: rolled back and re-applied, it needs a new approval", async () => {
    await kubectl(["apply", "-f", "-"], {
      input: policy(singleUseQuorum),
    });
    const first = await applyUntil("ghcr.io/acme/web:1.2", (result) => result.code !== 0, "1.2 to be denied");
    const name = requestNameFrom(first.stderr);
    await kubectl(["aegis", "approve", name, "-n", ns], alice);
    await kubectl(["aegis", "approve", name, "-n", ns], sam);
    await waitForPhase(name, "Approved");
    await applyUntil("ghcr.io/acme/web:1.2", (result) => result.code === 0, "the approved 1.2 to be admitted");
    await waitForPhase(name, "Used");
    const used = JSON.parse((await kubectl(["get", "areq", name, "-n", ns, "-o", "json"])).stdout) as {
      metadata: { uid: string };
      spec: { decisions: { user: string; decision: string; via: string }[] };
    };
    expect(used.spec.decisions.at(-1)).toMatchObject({ user: AEGIS_USERNAME, decision: "Consume", via: "admission" });

    // Back to 1.0 (approved in the first test, now used up by this rollback), then 1.2 again.
    await applyUntil("ghcr.io/acme/web:1.0", (result) => result.code === 0, "the rollback to the approved 1.0");
    const again = await applyUntil(
      "ghcr.io/acme/web:1.2",
      (result) => result.code !== 0 && result.stderr.includes(`ApprovalRequest ${ns}/${name} is Pending`),
      "re-applying the used 1.2 to be denied with a fresh request",
    );
    expect(again.stderr).toContain("still missing: 1 more from sre-leads, 1 more from security");
    const fresh = JSON.parse((await kubectl(["get", "areq", name, "-n", ns, "-o", "json"])).stdout) as {
      metadata: { uid: string };
      spec: { decisions: unknown[] };
    };
    expect(fresh.metadata.uid).not.toBe(used.metadata.uid);
    expect(fresh.spec.decisions).toEqual([]);
  });

  it("denies an approved change while a freeze window is open, and admits it after the window", async () => {
    const first = await applyUntil("ghcr.io/acme/web:1.3", (result) => result.code !== 0, "1.3 to be denied");
    const name = requestNameFrom(first.stderr);
    await kubectl(["aegis", "approve", name, "-n", ns], alice);
    await kubectl(["aegis", "approve", name, "-n", ns], sam);
    await waitForPhase(name, "Approved");

    const end = new Date(Date.now() + 25_000);
    const policyWithFreeze = JSON.parse(policy(singleUseQuorum)) as { spec: Record<string, unknown> };
    policyWithFreeze.spec["freezeWindows"] = [
      { name: "release-freeze", start: new Date(Date.now() - 60_000).toISOString(), end: end.toISOString() },
    ];
    await kubectl(["apply", "-f", "-"], { input: JSON.stringify(policyWithFreeze) });
    const frozen = await applyUntil(
      "ghcr.io/acme/web:1.3",
      (result) => result.code !== 0 && result.stderr.includes("is frozen"),
      "the approved change to be denied by the freeze",
    );
    expect(frozen.stderr).toContain(
      `is frozen by policy ${policyName}: freeze window release-freeze is open until ${end.toISOString()}`,
    );
    expect(await phaseOf(name)).toBe("Approved"); // a freeze does not use up the approval

    const bad = JSON.parse(policy(singleUseQuorum, `${ns}-bad-freeze`)) as { spec: Record<string, unknown> };
    bad.spec["freezeWindows"] = [{ schedule: "0 18 * * 5", duration: "62h" }];
    const refused = await kubectl(["apply", "-f", "-"], { input: JSON.stringify(bad), allowFail: true });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/spec\.freezeWindows\[0\]: Invalid value.*timeZone/);

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, end.getTime() - Date.now() + 500)));
    await applyUntil(
      "ghcr.io/acme/web:1.3",
      (result) => result.code === 0,
      "the change to be admitted after the freeze",
    );
    await waitForPhase(name, "Used");
  }, 120_000);

  it("admits a break-glass change at once, alerts, and shows its review as overdue", async () => {
    await kubectl(["create", "rolebinding", "oncall-edit", "--clusterrole=edit", "--group=oncall", "-n", ns]);
    await kubectl(["apply", "-f", "-"], {
      input: policy({
        mode: "Always",
        minApprovals: 1,
        approvers: { groups: ["sre-leads"] },
        breakGlass: { groups: ["oncall"], reviewWithin: "5s" },
      }),
    });
    const emergency = (image: string): string => {
      const object = JSON.parse(deployment(image)) as { metadata: Record<string, unknown> };
      object.metadata["annotations"] = { "aegis.valina.ai/break-glass": "INC-77: checkout down" };
      return JSON.stringify(object);
    };
    // dev may edit the namespace but is not on call: refused, and told why.
    const refused = await eventually(async () => {
      const result = await kubectl(["apply", "-f", "-"], {
        ...dev,
        input: emergency("ghcr.io/acme/web:9.9"),
        allowFail: true,
      });
      return result.stderr.includes("break-glass refused") ? result : undefined;
    }, "a break-glass by someone not on call to be refused");
    expect(refused.stderr).toContain("dev is in none of policy");

    const olga = { as: "olga", asGroups: ["oncall"] };
    const admitted = await kubectl(["apply", "-f", "-"], {
      ...olga,
      input: emergency("ghcr.io/acme/web:9.9"),
      allowFail: true,
    });
    expect(admitted.code, admitted.stderr).toBe(0);
    expect(admitted.stderr).toMatch(/admitted by BREAK-GLASS \(INC-77: checkout down\)/);
    const name = /ApprovalRequest [^/]+\/(breakglass-\S+) within/.exec(admitted.stderr)?.[1] ?? "";
    expect(name).toMatch(/^breakglass-deployment-web-/);
    const image = await imageOfWeb();
    expect(image.stdout).toBe("ghcr.io/acme/web:9.9");

    await waitForPhase(name, "ReviewRequired");
    const events = await eventually(async () => {
      const out = (
        await kubectl(["get", "events", "-n", ns, "--field-selector", `involvedObject.name=${name}`, "-o", "json"])
      ).stdout;
      const items = (JSON.parse(out) as { items: { type: string; reason: string }[] }).items;
      return items.some((e) => e.reason === "ReviewOverdue") ? items : undefined;
    }, "a ReviewOverdue Warning Event once reviewWithin (5 s) has passed");
    expect(events).toEqual(
      expect.arrayContaining([expect.objectContaining({ type: "Warning", reason: "ReviewRequired" })]),
    );
    const status = JSON.parse((await kubectl(["get", "areq", name, "-n", ns, "-o", "json"])).stdout) as {
      status: { reviewOverdue?: boolean; conditions: { reason: string }[] };
    };
    expect(status.status.reviewOverdue).toBe(true);
    expect(status.status.conditions.map((c) => c.reason)).toContain("ReviewOverdue");
    const metrics = await (await fetch(`${aegis.apiUrl}/metrics`)).text();
    expect(metrics).toMatch(/aegis_break_glass_unreviewed\{overdue="true"\} 1/);
    expect(metrics).toMatch(new RegExp(`aegis_break_glass_total\\{policy="${policyName}"\\} 1`));

    // Reviewed by an approver: no longer awaiting review.
    await kubectl(["aegis", "approve", name, "-n", ns, "-m", "ok, postmortem INC-77"], alice);
    await waitForPhase(name, "Approved");
  }, 120_000);

  it("denies kubectl exec into a gated pod, allows it once approved, and denies it again after the ttl", async () => {
    const accessNs = `${ns}-x`;
    const accessPolicy = `${ns}-access`;
    await createTeamNamespace(accessNs);
    try {
      await eventually(
        async () =>
          (await kubectl(["get", "sa", "default", "-n", accessNs], { allowFail: true })).code === 0 ? true : undefined,
        "the namespace's default ServiceAccount",
      );
      const nodes = JSON.parse((await kubectl(["get", "nodes", "-o", "json"])).stdout) as {
        items: { status?: { images?: { names?: string[] }[] } }[];
      };
      const image = nodes.items
        .flatMap((node) => node.status?.images ?? [])
        .flatMap((entry) => entry.names ?? [])
        .find((name) => name.startsWith("localhost/aegis-busybox:"));
      expect(image, "the real node's busybox image (npm run cluster:up imports it)").toBeDefined();
      await kubectl(["apply", "-f", "-"], {
        input: JSON.stringify({
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: "shell", namespace: accessNs },
          spec: {
            terminationGracePeriodSeconds: 1,
            tolerations: [{ key: "aegis.valina.ai/real-node", operator: "Exists", effect: "NoSchedule" }],
            containers: [{ name: "c", image, imagePullPolicy: "Never", command: ["sh", "-c", "exec sleep 3600"] }],
          },
        }),
      });
      await kubectl(["wait", "--for=condition=Ready", "pod/shell", "-n", accessNs, "--timeout=90s"]);
      await kubectl(["apply", "-f", "-"], {
        input: JSON.stringify({
          apiVersion: "aegis.valina.ai/v1alpha1",
          kind: "AegisPolicy",
          metadata: { name: accessPolicy },
          spec: {
            match: { kinds: ["Deployment"], namespaces: [accessNs] },
            approval: { mode: "Always", approvers: { groups: ["sre-leads"] } },
            access: { exec: "RequireApproval", ttl: "20s" },
          },
        }),
      });
      const exec = () =>
        kubectl(["exec", "-n", accessNs, "shell", "--", "echo", "inside"], { ...dev, allowFail: true });
      const denied = await eventually(async () => {
        const result = await exec();
        return result.code !== 0 && result.stderr.includes("needs approval") ? result : undefined;
      }, "kubectl exec to be denied by the access policy");
      expect(denied.stderr).toContain(`exec into pod ${accessNs}/shell needs approval (policy ${accessPolicy})`);
      const name = /AccessRequest [^/]+\/(\S+) is Pending/.exec(denied.stderr)?.[1] ?? "";
      expect(name).toMatch(/^access-exec-shell-/);

      await kubectl(["aegis", "approve", name, "-n", accessNs], alice);
      const approvedAt = Date.now();
      const inside = await eventually(async () => {
        const result = await exec();
        return result.code === 0 ? result : undefined;
      }, "kubectl exec to be let in once approved");
      expect(inside.stdout.trim()).toBe("inside");
      const metrics = await (await fetch(`${aegis.apiUrl}/metrics`)).text();
      expect(metrics).toMatch(/aegis_access_sessions_total\{[^}]*decision="allowed"[^}]*\} [1-9]/);

      await new Promise((resolve) => setTimeout(resolve, Math.max(0, approvedAt + 21_000 - Date.now())));
      const again = await exec();
      expect(again.code).not.toBe(0);
      expect(again.stderr).toContain("needs approval");
    } finally {
      await kubectl(["delete", "areq", "--all", "-n", accessNs], { allowFail: true });
      await kubectl(["delete", "apol", accessPolicy, "--ignore-not-found"], { allowFail: true });
      await kubectl(["delete", "namespace", accessNs, "--wait=false"], { allowFail: true });
    }
  }, 180_000);
});
