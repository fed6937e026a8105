// The admission gate end to end (DESIGN §3): a real kube-apiserver calls a real `aegis serve`,
// users act through kubectl with impersonation, and AEGIS acts as its own service account.
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AEGIS_NAMESPACE,
  removeWebhookConfiguration,
  startAegisProcess,
  type RunningAegisProcess,
} from "./helpers/aegis.js";
import { eventually, kubectl } from "./helpers/kube.js";

const ns = `gate-${randomBytes(3).toString("hex")}`;
const policyName = `${ns}-gate`;
const auditPolicyName = `${ns}-audit`;
const dev = { as: "dev", asGroups: ["developers"] };
const alice = { as: "alice", asGroups: ["sre-leads"] };
const bob = { as: "bob", asGroups: ["qa"] };

function deployment(
  name: string,
  image: string,
  extra: { privileged?: boolean; namespace?: string; labels?: boolean } = {},
): string {
  const labels = extra.labels === false ? {} : { "app.kubernetes.io/name": name, team: "payments" };
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: extra.namespace ?? ns, labels },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
          containers: [
            {
              name: "web",
              image,
              securityContext: extra.privileged
                ? { privileged: true }
                : { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, runAsUser: 1000 },
              resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
            },
          ],
        },
      },
    },
  });
}

function policy(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({ apiVersion: "aegis.valina.ai/v1alpha1", kind: "AegisPolicy", metadata: { name }, spec });
}

const gateChecks = [
  { name: "pod-security", podSecurity: { level: "restricted", version: "latest" } },
  { name: "trusted-registries", allowedRegistries: ["ghcr.io/acme/"] },
  { name: "resources", requireResources: { requests: ["cpu", "memory"], limits: ["memory"] } },
  { name: "owner", requiredLabels: ["app.kubernetes.io/name", "team"] },
  { name: "replicas", cel: "object.spec.replicas <= 10", message: "at most 10 replicas" },
];

const apply = (manifest: string, as = dev, extra: string[] = []) =>
  kubectl(["apply", "-f", "-", ...extra], { ...as, input: manifest, allowFail: true });

async function requestJson(
  name: string,
): Promise<{ spec: { risk: { factors: { name: string }[] }; decisions: unknown[] }; status?: { phase?: string } }> {
  return JSON.parse((await kubectl(["get", "areq", name, "-n", ns, "-o", "json"])).stdout) as never;
}

function requestNameFrom(message: string): string {
  const match = /ApprovalRequest [^/]+\/(\S+) is/.exec(message);
  if (!match?.[1]) throw new Error(`no ApprovalRequest named in: ${message}`);
  return match[1];
}

let aegis: RunningAegisProcess;

beforeAll(async () => {
  await kubectl(["create", "namespace", ns]);
  await kubectl(["create", "rolebinding", "dev-edit", "--clusterrole=edit", "--group=developers", "-n", ns]);
  await kubectl(
    ["create", "rolebinding", "approvers", "--clusterrole=aegis-approver", "--group=sre-leads", "--group=qa", "-n", ns],
    { allowFail: true },
  );
  aegis = await startAegisProcess();
  await kubectl(
    ["create", "rolebinding", "approvers", "--clusterrole=aegis-approver", "--group=sre-leads", "--group=qa", "-n", ns],
    { allowFail: true },
  );
  await kubectl(["apply", "-f", "-"], {
    input: policy(policyName, {
      enforcement: "Enforce",
      match: { kinds: ["Deployment"], namespaces: [ns] },
      checks: gateChecks,
      approval: { mode: "Always", minApprovals: 1, approvers: { groups: ["sre-leads"] }, expiresAfter: "1h" },
    }),
  });
  await eventually(async () => {
    const status = (await kubectl(["get", "apol", policyName, "-o", "jsonpath={.status.conditions[0].status}"])).stdout;
    return status === "True" ? true : undefined;
  }, "the policy to be Ready");
}, 180_000);

afterAll(async () => {
  await removeWebhookConfiguration();
  await aegis?.stop();
  await kubectl(["delete", "apol", policyName, auditPolicyName, "--ignore-not-found"]);
  await kubectl(["delete", "namespace", ns, "--wait=false"], { allowFail: true });
});

describe("the admission gate", () => {
  it("denies a Deployment that breaks checks, listing every violation", async () => {
    const result = await apply(deployment("bad", "docker.io/library/nginx:1.27", { privileged: true, labels: false }));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`${policyName}/pod-security`);
    expect(result.stderr).toMatch(/privileged/);
    expect(result.stderr).toContain(`${policyName}/trusted-registries`);
    expect(result.stderr).toContain(`${policyName}/owner`);
  });

  it("admits under Audit and kubectl prints the warnings", async () => {
    const auditNs = `${ns}-audit`;
    await kubectl(["create", "namespace", auditNs]);
    try {
      await kubectl(["apply", "-f", "-"], {
        input: policy(auditPolicyName, {
          enforcement: "Audit",
          match: { kinds: ["Deployment"], namespaces: [auditNs] },
          checks: gateChecks,
        }),
      });
      const result = await eventually(async () => {
        const attempt = await kubectl(["apply", "-f", "-"], {
          input: deployment("loose", "docker.io/library/nginx:1.27", { namespace: auditNs }),
          allowFail: true,
        });
        return attempt.code === 0 && attempt.stderr.includes("aegis (audit)") ? attempt : undefined;
      }, "an audited apply with warnings");
      expect(result.stderr).toMatch(/Warning: aegis \(audit\): .*trusted-registries/);
    } finally {
      await kubectl(["delete", "namespace", auditNs, "--wait=false"], { allowFail: true });
    }
  });

  it("gates a compliant change on approval by someone other than its author, for exactly that change", async () => {
    const manifest = deployment("web", "ghcr.io/acme/web:1.2");
    const dryRun = await apply(manifest, dev, ["--dry-run=server"]);
    expect(dryRun.code).not.toBe(0);
    expect((await kubectl(["get", "areq", "-n", ns, "-o", "name"])).stdout.trim()).toBe("");

    const denied = await apply(manifest);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(
      new RegExp(
        `aegis: Deployment ${ns}/web change [0-9a-f]{10} needs 1 approval \\(policy ${policyName}, risk \\d+/100`,
      ),
    );
    expect(denied.stderr).toMatch(/approve with: kubectl aegis approve deployment-web-[0-9a-f]{10} -n/);
    const name = requestNameFrom(denied.stderr);
    const request = await eventually(async () => {
      const current = await requestJson(name);
      return current.status?.phase === "Pending" ? current : undefined;
    }, "the request to be Pending");
    expect(request.spec.risk.factors.map((factor) => factor.name)).toContain("new-workload");

    const byRequester = await kubectl(["aegis", "approve", name, "-n", ns], { ...dev, allowFail: true });
    expect(byRequester.code).not.toBe(0);
    const byOutsider = await kubectl(["aegis", "approve", name, "-n", ns], { ...bob, allowFail: true });
    expect(byOutsider.code).not.toBe(0);
    expect(byOutsider.stderr).toMatch(/bob is not an approver/);
    const forged = JSON.stringify([
      {
        op: "add",
        path: "/spec/decisions",
        value: [{ user: "alice", decision: "Approve", comment: "", at: new Date().toISOString(), via: "kubectl" }],
      },
    ]);
    const impersonated = await kubectl(["patch", "areq", name, "-n", ns, "--type=json", "-p", forged], {
      ...bob,
      allowFail: true,
    });
    expect(impersonated.code).not.toBe(0);
    expect(impersonated.stderr).toMatch(/names user alice but the caller is bob/);

    const approved = await kubectl(["aegis", "approve", name, "-n", ns, "-m", "looks good"], alice);
    expect(approved.stdout).toMatch(/approved by alice/);
    const edit = JSON.stringify([{ op: "replace", path: "/spec/decisions/0/decision", value: "Reject" }]);
    expect(
      (await kubectl(["patch", "areq", name, "-n", ns, "--type=json", "-p", edit], { ...alice, allowFail: true })).code,
    ).not.toBe(0);
    const late = await kubectl(["aegis", "reject", name, "-n", ns], {
      as: "carol",
      asGroups: ["sre-leads"],
      allowFail: true,
    });
    expect(late.code).not.toBe(0);
    expect(late.stderr).toMatch(/Approved and takes no more decisions/);

    await eventually(
      async () => ((await apply(manifest)).code === 0 ? true : undefined),
      "the approved apply to be admitted",
    );
    expect((await apply(manifest)).code).toBe(0);
    expect(
      (await kubectl(["scale", "deployment/web", "--replicas=3", "-n", ns], { ...dev, allowFail: true })).code,
    ).toBe(0);
    expect((await kubectl(["rollout", "restart", "deployment/web", "-n", ns], { ...dev, allowFail: true })).code).toBe(
      0,
    );

    const newImage = await apply(deployment("web", "ghcr.io/acme/web:1.3"));
    expect(newImage.code).not.toBe(0);
    expect(requestNameFrom(newImage.stderr)).not.toBe(name);
  });

  it("never gates kube-system or AEGIS's own namespace, even under a match-everything policy", async () => {
    const everything = `${ns}-everything`;
    await kubectl(["apply", "-f", "-"], {
      input: policy(everything, {
        match: { kinds: ["Deployment", "Pod"] },
        checks: [],
        approval: { mode: "Always", approvers: { groups: ["sre-leads"] } },
      }),
    });
    try {
      await eventually(async () => {
        const gated = await kubectl(["apply", "-f", "-"], {
          input: deployment("probe", "ghcr.io/acme/web:9"),
          allowFail: true,
        });
        return gated.code !== 0 ? true : undefined;
      }, "the match-everything policy to gate");
      for (const namespace of ["kube-system", AEGIS_NAMESPACE]) {
        const result = await kubectl(["apply", "-f", "-"], {
          input: deployment(`ungated-${ns}`, "docker.io/library/busybox:1", { namespace, privileged: true }),
          allowFail: true,
        });
        expect(result.code, result.stderr).toBe(0);
        await kubectl(["delete", "deployment", `ungated-${ns}`, "-n", namespace, "--wait=false"]);
      }
    } finally {
      await kubectl(["delete", "apol", everything, "--ignore-not-found"]);
    }
  });
});
