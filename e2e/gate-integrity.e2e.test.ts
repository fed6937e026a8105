// No way around the gate for anyone who may deploy (docs/security.md): a developer with `edit`
// in a gated namespace tries every side door against a real kube-apiserver and controller-manager
// calling a real `aegis serve`; AEGIS's own token is tried too.
import { randomBytes } from "node:crypto";
import { request as httpsRequest } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AEGIS_NAMESPACE,
  AEGIS_USERNAME,
  removeWebhookConfiguration,
  startAegisProcess,
  type RunningAegisProcess,
} from "./helpers/aegis.js";
import { eventually, kubectl } from "./helpers/kube.js";

const ns = `integrity-${randomBytes(3).toString("hex")}`;
const policyName = `${ns}-deployments`;
const stricterName = `${ns}-stricter`;
const jobPolicyName = `${ns}-jobs`;
const dev = { as: "dev", asGroups: ["developers"] };
const alice = { as: "alice", asGroups: ["sre-leads"] };
const aegisIdentity = {
  as: AEGIS_USERNAME,
  asGroups: ["system:serviceaccounts", `system:serviceaccounts:${AEGIS_NAMESPACE}`, "system:authenticated"],
};

const GOOD_IMAGE = "ghcr.io/acme/web:1.2";
const BAD_IMAGE = "docker.io/library/nginx:1.27";

const restrictedContainer = (image: string, name = "web"): Record<string, unknown> => ({
  name,
  image,
  securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] }, runAsUser: 1000 },
  resources: { requests: { cpu: "10m", memory: "16Mi" }, limits: { memory: "64Mi" } },
});

function podSpec(image: string): Record<string, unknown> {
  return {
    securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
    containers: [restrictedContainer(image)],
  };
}

function deployment(name: string, image: string, replicas = 1): string {
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name, namespace: ns, labels: { team: "payments" } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: podSpec(image) },
    },
  });
}

function policy(name: string, spec: Record<string, unknown>): string {
  return JSON.stringify({ apiVersion: "aegis.valina.ai/v1alpha1", kind: "AegisPolicy", metadata: { name }, spec });
}

const apply = (manifest: string, as: { as: string; asGroups: string[] } = dev, extra: string[] = []) =>
  kubectl(["apply", "-f", "-", ...extra], { ...as, input: manifest, allowFail: true });

function requestNameFrom(message: string): string {
  const match = /ApprovalRequest [^/]+\/(\S+) is/.exec(message);
  if (!match?.[1]) throw new Error(`no ApprovalRequest named in: ${message}`);
  return match[1];
}

async function waitReady(name: string): Promise<void> {
  await eventually(async () => {
    const status = (await kubectl(["get", "apol", name, "-o", "jsonpath={.status.conditions[0].status}"])).stdout;
    return status === "True" ? true : undefined;
  }, `policy ${name} to be Ready`);
}

/** Applies as dev until AEGIS answers with an ApprovalRequest, approves it as alice, applies again. */
async function approveAndApply(manifest: string, approver = alice): Promise<void> {
  const denied = await eventually(async () => {
    const attempt = await apply(manifest);
    return attempt.code !== 0 && /ApprovalRequest/.test(attempt.stderr) ? attempt : undefined;
  }, "a denial naming an ApprovalRequest");
  await kubectl(["aegis", "approve", requestNameFrom(denied.stderr), "-n", ns], approver);
  await eventually(async () => ((await apply(manifest)).code === 0 ? true : undefined), "the approved apply");
}

async function podNames(selector: string): Promise<string[]> {
  const out = (await kubectl(["get", "pods", "-n", ns, "-l", selector, "-o", "jsonpath={.items[*].metadata.name}"]))
    .stdout;
  return out.split(/\s+/).filter((name) => name !== "");
}

let aegis: RunningAegisProcess;

beforeAll(async () => {
  await kubectl(["create", "namespace", ns]);
  await kubectl(["create", "rolebinding", "dev-edit", "--clusterrole=edit", "--group=developers", "-n", ns]);
  aegis = await startAegisProcess();
  await kubectl([
    "create",
    "rolebinding",
    "approvers",
    "--clusterrole=aegis-approver",
    "--group=sre-leads",
    "--group=security",
    "-n",
    ns,
  ]);
  await kubectl(["apply", "-f", "-"], {
    input: policy(policyName, {
      enforcement: "Enforce",
      match: { kinds: ["Deployment"], namespaces: [ns] },
      checks: [
        { name: "pod-security", podSecurity: { level: "restricted", version: "latest" } },
        { name: "trusted-registries", allowedRegistries: ["ghcr.io/acme"] },
        { name: "owner", requiredLabels: ["team"] },
        { name: "replicas", cel: "object.spec.replicas <= 10", message: "at most 10 replicas" },
      ],
      approval: { mode: "Always", minApprovals: 1, approvers: { groups: ["sre-leads"] }, expiresAfter: "1h" },
    }),
  });
  await waitReady(policyName);
}, 240_000);

afterAll(async () => {
  await removeWebhookConfiguration();
  await aegis?.stop();
  await kubectl(["delete", "apol", policyName, stricterName, jobPolicyName, "--ignore-not-found"]);
  await kubectl(["delete", "namespace", ns, "--wait=false"], { allowFail: true });
});

describe("gate integrity", () => {
  it("1. checks a bare Pod whatever controller owner it claims, and a ReplicaSet or Job created directly", async () => {
    const spoofed = JSON.stringify({
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        name: "spoofed",
        namespace: ns,
        ownerReferences: [
          {
            apiVersion: "apps/v1",
            kind: "ReplicaSet",
            name: "made-up",
            uid: "00000000-0000-0000-0000-000000000000",
            controller: true,
          },
        ],
      },
      spec: podSpec(BAD_IMAGE),
    });
    const pod = await apply(spoofed);
    expect(pod.code).not.toBe(0);
    expect(pod.stderr).toContain(`${policyName}/trusted-registries`);

    const replicaSet = JSON.stringify({
      apiVersion: "apps/v1",
      kind: "ReplicaSet",
      metadata: { name: "direct", namespace: ns },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "direct" } },
        template: { metadata: { labels: { app: "direct" } }, spec: podSpec(BAD_IMAGE) },
      },
    });
    const rs = await apply(replicaSet);
    expect(rs.code).not.toBe(0);
    expect(rs.stderr).toContain(`${policyName}/trusted-registries`);
    // A compliant one still needs the approval the policy asks of what it governs.
    const compliantRs = await apply(replicaSet.replace(BAD_IMAGE, GOOD_IMAGE));
    expect(compliantRs.code).not.toBe(0);
    expect(compliantRs.stderr).toMatch(/needs 1 approval/);

    const job = await kubectl(["create", "job", "direct", "-n", ns, `--image=${BAD_IMAGE}`], {
      ...dev,
      allowFail: true,
    });
    expect(job.code).not.toBe(0);
    expect(job.stderr).toContain(`${policyName}/trusted-registries`);
  });

  it("3. checks AEGIS's own identity like anyone's: its token cannot roll out a new image", async () => {
    await approveAndApply(deployment("own", GOOD_IMAGE));
    const patch = JSON.stringify({
      spec: { template: { spec: { containers: [restrictedContainer("ghcr.io/acme/web:9.9")] } } },
    });
    const byAegis = await kubectl(["patch", "deployment", "own", "-n", ns, "--type=merge", "-p", patch], {
      ...aegisIdentity,
      allowFail: true,
    });
    expect(byAegis.code).not.toBe(0);
    expect(byAegis.stderr).toMatch(/needs 1 approval/);
    const evil = JSON.stringify({ spec: { template: { spec: { containers: [restrictedContainer(BAD_IMAGE)] } } } });
    const evilByAegis = await kubectl(["patch", "deployment", "own", "-n", ns, "--type=merge", "-p", evil], {
      ...aegisIdentity,
      allowFail: true,
    });
    expect(evilByAegis.code).not.toBe(0);
    expect(evilByAegis.stderr).toContain(`${policyName}/trusted-registries`);
    // Its restart stamp changes nothing that runs and passes.
    const restart = await kubectl(["rollout", "restart", "deployment/own", "-n", ns], {
      ...aegisIdentity,
      allowFail: true,
    });
    expect(restart.stderr).toBe("");
    expect(restart.code).toBe(0);
  });

  it("4. runs the checks when the change hash is unchanged: scaling past a CEL limit, removing a required label", async () => {
    await approveAndApply(deployment("scaled", GOOD_IMAGE));
    const scale = await kubectl(["scale", "deployment/scaled", "-n", ns, "--replicas=50"], { ...dev, allowFail: true });
    expect(scale.code).not.toBe(0);
    expect(scale.stderr).toMatch(/at most 10 replicas/);
    expect((await kubectl(["scale", "deployment/scaled", "-n", ns, "--replicas=3"], dev)).code).toBe(0);
    const unlabel = await kubectl(["label", "deployment/scaled", "-n", ns, "team-"], { ...dev, allowFail: true });
    expect(unlabel.code).not.toBe(0);
    expect(unlabel.stderr).toContain(`${policyName}/owner`);
  });

  it("5. counts an approval only against the policies that apply now", async () => {
    const manifest = deployment("strict", GOOD_IMAGE);
    await approveAndApply(manifest);
    await kubectl(["apply", "-f", "-"], {
      input: policy(stricterName, {
        match: { kinds: ["Deployment"], namespaces: [ns] },
        approval: { mode: "Always", minApprovals: 1, approvers: { groups: ["security"] }, expiresAfter: "1h" },
      }),
    });
    await waitReady(stricterName);
    // A new spec of the same workload is one thing; the very same approved change is what matters here.
    await kubectl(["delete", "deployment", "strict", "-n", ns]);
    const denied = await eventually(async () => {
      const attempt = await apply(manifest);
      return attempt.code !== 0 ? attempt : undefined;
    }, "the re-created Deployment to be denied under the stricter policy");
    expect(denied.stderr).toContain(stricterName);
    const name = requestNameFrom(denied.stderr);
    const policies = (await kubectl(["get", "areq", name, "-n", ns, "-o", "jsonpath={.spec.policies}"])).stdout;
    expect(JSON.parse(policies)).toEqual([policyName, stricterName]);
    const byOldApprover = await kubectl(["aegis", "approve", name, "-n", ns], { ...alice, allowFail: true });
    expect(byOldApprover.code).not.toBe(0);
    await kubectl(["delete", "apol", stricterName]);
  });

  it("6. gates ephemeral containers (kubectl debug) with the same checks", async () => {
    // `edit` does not grant kubectl debug; a team that allows it binds this on top.
    await kubectl([
      "create",
      "role",
      "debugger",
      "-n",
      ns,
      "--verb=patch,update",
      "--resource=pods/ephemeralcontainers",
    ]);
    await kubectl(["create", "rolebinding", "debugger", "-n", ns, "--role=debugger", "--group=developers"]);
    await approveAndApply(deployment("debugged", GOOD_IMAGE));
    const [pod] = await eventually(async () => {
      const names = await podNames("app=debugged");
      return names.length > 0 ? names : undefined;
    }, "a pod of the approved Deployment");
    const debug = await kubectl(["debug", `pod/${pod}`, "-n", ns, `--image=${BAD_IMAGE}`, "-c", "dbg"], {
      ...dev,
      allowFail: true,
    });
    expect(debug.code).not.toBe(0);
    expect(debug.stderr).toContain(`${policyName}/trusted-registries`);
  });

  it("7. makes Jobs and generateName objects approvable, and lets an approved Deployment's own ReplicaSet and Pods run", async () => {
    await kubectl(["apply", "-f", "-"], {
      input: policy(jobPolicyName, {
        match: { kinds: ["Job", "ReplicaSet", "Pod"], namespaces: [ns] },
        checks: [{ name: "trusted-registries", allowedRegistries: ["ghcr.io/acme"] }],
        approval: { mode: "Always", minApprovals: 1, approvers: { groups: ["sre-leads"] }, expiresAfter: "1h" },
      }),
    });
    await waitReady(jobPolicyName);
    const job = JSON.stringify({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { generateName: "migrate-", namespace: ns },
      spec: { template: { spec: { ...podSpec(GOOD_IMAGE), restartPolicy: "Never" } } },
    });
    const create = () => kubectl(["create", "-f", "-"], { ...dev, input: job, allowFail: true });
    const denied = await eventually(async () => {
      const attempt = await create();
      return attempt.code !== 0 && /ApprovalRequest/.test(attempt.stderr) ? attempt : undefined;
    }, "the Job to need approval");
    await kubectl(["aegis", "approve", requestNameFrom(denied.stderr), "-n", ns], alice);
    const admitted = await eventually(async () => {
      const attempt = await create();
      return attempt.code === 0 ? attempt : undefined;
    }, "the approved Job to be created under a new name");
    expect(admitted.stdout).toMatch(/job.batch\/migrate-\w+ created/);

    // The Deployment policy plus a policy on ReplicaSets and Pods: one approval of the Deployment runs it.
    await approveAndApply(deployment("rollout", GOOD_IMAGE, 2));
    await eventually(async () => ((await podNames("app=rollout")).length === 2 ? true : undefined), "two pods");
  });

  it("10. keeps creating controllers' pods while AEGIS is down", async () => {
    await approveAndApply(deployment("resilient", GOOD_IMAGE, 2));
    const before = await eventually(async () => {
      const names = await podNames("app=resilient");
      return names.length === 2 ? names : undefined;
    }, "two pods");
    await aegis.stop("SIGKILL");
    try {
      await kubectl(["delete", "pod", before[0] ?? "", "-n", ns, "--wait=false"]);
      await eventually(
        async () => {
          const names = await podNames("app=resilient");
          return names.length === 2 && !names.includes(before[0] ?? "") ? true : undefined;
        },
        "the ReplicaSet controller to replace the pod with AEGIS down",
        { timeoutMs: 60_000 },
      );
      // A user's change, meanwhile, is refused: the gate fails closed.
      const change = await kubectl(["scale", "deployment/resilient", "-n", ns, "--replicas=3"], {
        ...dev,
        allowFail: true,
      });
      expect(change.code).not.toBe(0);
    } finally {
      aegis = await startAegisProcess();
    }
  });

  it("2. refuses an AdmissionReview from a caller without the API server's client certificate", async () => {
    const forged = {
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      request: {
        uid: "forged",
        kind: { group: "apps", version: "v1", kind: "Deployment" },
        resource: { group: "apps", version: "v1", resource: "deployments" },
        name: "forged",
        namespace: ns,
        operation: "CREATE",
        userInfo: { username: "mallory", groups: [] },
        object: JSON.parse(deployment("forged", GOOD_IMAGE)) as unknown,
      },
    };
    const body = JSON.stringify(forged);
    const answer = await new Promise<number | string>((resolve) => {
      const request = httpsRequest(
        `${aegis.webhookUrl}/validate`,
        { method: "POST", headers: { "content-type": "application/json" }, rejectUnauthorized: false },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      );
      request.on("error", (error) => resolve(error.message));
      request.end(body);
    });
    expect(answer).not.toBe(200);
    const requests = (await kubectl(["get", "areq", "-n", ns, "-o", "name"])).stdout;
    expect(requests).not.toContain("deployment-forged-");
  });
});
