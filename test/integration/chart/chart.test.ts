// charts/aegis through the real helm (v3.22, built from tools/helm): lint is clean, and what
// `helm template` renders — defaults and cert-manager mode — holds the values the chart promises.
import { createPrivateKey } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import type {
  V1ClusterRole,
  V1Container,
  V1StatefulSet,
  V1PodDisruptionBudget,
  V1Role,
  V1RoleBinding,
  V1Service,
  V1ValidatingWebhookConfiguration,
  V1Job,
} from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { buildWebhookConfiguration } from "../../../src/webhook/configuration.js";
import { SERVE_OPTIONS } from "../../../src/wiring/config.js";
import { INTEGRATION_ENV } from "../../../src/wiring/config.js";
import {
  buildHelm,
  CLUSTER_SCOPED_KINDS,
  chartDir,
  findObject,
  helm,
  HELM_BUILD_TIMEOUT_MS,
  type KubeObject,
  renderChart,
  type RenderOptions,
  repoRoot,
} from "./helm.js";

const NS = "aegis-system";

/** More than one replica (the default, 2) needs PostgreSQL: the values most renders start from. */
const HA = { "database.existingSecret.name": "aegis-db" };

/** renderChart with a database (HA) unless the options name one themselves. */
function render(options: RenderOptions = {}): ReturnType<typeof renderChart> {
  const namesDatabase =
    Object.keys(options.set ?? {}).some((key) => key.startsWith("database.")) || options.values?.["database"];
  return renderChart(namesDatabase ? options : { ...options, set: { ...HA, ...options.set } });
}

let defaults: KubeObject[];
let certManager: KubeObject[];

beforeAll(async () => {
  await buildHelm();
  defaults = (await render({ namespace: NS })).objects;
  certManager = (
    await render({
      namespace: NS,
      set: { "webhook.certManager.enabled": "true", "serviceMonitor.enabled": "true", "networkPolicy.enabled": "true" },
    })
  ).objects;
}, HELM_BUILD_TIMEOUT_MS);

function container(deployment: V1StatefulSet): V1Container {
  const first = deployment.spec?.template.spec?.containers[0];
  if (!first) throw new Error("the StatefulSet has no container");
  return first;
}

function envValue(c: V1Container, name: string): string | undefined {
  return c.env?.find((e) => e.name === name)?.value;
}

describe("helm lint", () => {
  it.each([
    ["defaults (with PostgreSQL)", ["--set", "database.existingSecret.name=aegis-db"]],
    ["one replica, no database", ["--set", "replicaCount=1"]],
    ["cert-manager mode", ["--set", "webhook.certManager.enabled=true,database.existingSecret.name=aegis-db"]],
    [
      "everything on",
      [
        "--set",
        "webhook.certManager.enabled=true,serviceMonitor.enabled=true,prometheusRule.enabled=true,grafanaDashboard.enabled=true,networkPolicy.enabled=true,database.url=postgres://db/aegis,redis.url=redis://redis:6379,slack.enabled=true,slack.existingSecret=slack,github.enabled=true,github.existingSecret=gh",
      ],
    ],
  ])("is clean with %s (--strict, no warnings, no info)", async (_name, extra) => {
    const result = await helm(["lint", chartDir, "--strict", ...extra]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain("1 chart(s) linted, 0 chart(s) failed");
    expect(result.stdout).not.toMatch(/\[(INFO|WARNING|ERROR)\]/);
  });

  it("values.schema.json refuses bad values", async () => {
    for (const bad of [
      "replicaCount=-1",
      "logLevel=loud",
      "image.pullPolicy=Sometimes",
      "database.url=mysql://db",
      "webhook.failurePolicy=Maybe",
      "unknownKey=1",
    ]) {
      const result = await helm(["template", "aegis", chartDir, "--set", bad]);
      expect(result.code, bad).not.toBe(0);
      expect(result.stderr, bad).toMatch(/schema|values don't meet/i);
    }
  });

  it("refuses Slack or GitHub without their Secret", async () => {
    const slack = await helm(["template", "aegis", chartDir, "--set", "replicaCount=1,slack.enabled=true"]);
    expect(slack.stderr).toContain("slack.enabled needs slack.existingSecret");
    const github = await helm(["template", "aegis", chartDir, "--set", "replicaCount=1,github.enabled=true"]);
    expect(github.stderr).toContain("github.enabled needs github.existingSecret");
  });
});

describe("the StatefulSet (defaults, with PostgreSQL)", () => {
  let deployment: V1StatefulSet;
  let c: V1Container;
  beforeAll(() => {
    deployment = findObject<V1StatefulSet>(defaults, "StatefulSet", "aegis");
    c = container(deployment);
  });

  it("runs 2 replicas spread over nodes by a preferred anti-affinity", () => {
    expect(deployment.spec?.replicas).toBe(2);
    const preferred =
      deployment.spec?.template.spec?.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
    expect(preferred).toHaveLength(1);
    expect(preferred[0]?.podAffinityTerm.topologyKey).toBe("kubernetes.io/hostname");
    expect(preferred[0]?.podAffinityTerm.labelSelector?.matchLabels).toEqual(deployment.spec?.selector.matchLabels);
    expect(
      deployment.spec?.template.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution,
    ).toBeUndefined();
  });

  it("uses the image ghcr.io/valina-ai/aegis tagged with the chart's appVersion", async () => {
    const chart = await readFile(path.join(chartDir, "Chart.yaml"), "utf8");
    const appVersion = /^appVersion:\s*"?([^"\n]+)"?/m.exec(chart)?.[1];
    expect(c.image).toBe(`ghcr.io/valina-ai/aegis:${appVersion}`);
  });

  it("requests 50m/64Mi and is limited to 500m/256Mi", () => {
    expect(c.resources).toEqual({ requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "256Mi" } });
  });

  it("runs as a numeric non-root user, read-only, with no capabilities and RuntimeDefault seccomp", () => {
    const pod = deployment.spec?.template.spec?.securityContext;
    expect(pod).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(c.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 10001,
      runAsGroup: 10001,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(c.securityContext?.privileged).toBeUndefined();
  });

  it("writes only to an emptyDir on /tmp and its PersistentVolumeClaim on /app/data (AEGIS_DATA_DIR)", () => {
    const volumes = deployment.spec?.template.spec?.volumes ?? [];
    expect(volumes.map((v) => v.name).sort()).toEqual(["evidence-key", "tmp"]);
    expect(volumes.find((v) => v.name === "tmp")?.emptyDir).toEqual({ sizeLimit: "64Mi" });
    expect(c.volumeMounts?.map((m) => [m.name, m.mountPath, m.readOnly ?? false])).toEqual([
      ["tmp", "/tmp", false],
      ["data", "/app/data", false],
      ["evidence-key", "/etc/aegis/evidence-key", true],
    ]);
    expect(envValue(c, "AEGIS_DATA_DIR")).toBe("/app/data");
  });

  it("probes /readyz and /health on port 8750 with the agreed timings", () => {
    expect(c.readinessProbe).toMatchObject({
      httpGet: { path: "/readyz", port: 8750 },
      initialDelaySeconds: 5,
      periodSeconds: 10,
      timeoutSeconds: 3,
    });
    expect(c.livenessProbe).toMatchObject({
      httpGet: { path: "/health", port: 8750 },
      initialDelaySeconds: 10,
      periodSeconds: 30,
      timeoutSeconds: 5,
    });
  });

  it("keeps serving 5 s after deletion (preStop sleep), well inside the grace period; none with shutdownDelaySeconds 0", async () => {
    expect(c.lifecycle?.preStop?.exec?.command).toEqual(["sleep", "5"]);
    // AEGIS gives itself 20 s to stop once signalled (src/main.ts).
    expect(deployment.spec?.template.spec?.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(5 + 20);
    const { objects } = await render({ set: { shutdownDelaySeconds: "0" } });
    expect(container(findObject<V1StatefulSet>(objects, "StatefulSet", "aegis")).lifecycle).toBeUndefined();
  });

  it("serves with --webhook-service <release namespace>/aegis-webhook and knows its namespace", () => {
    expect(c.args).toEqual([
      "serve",
      "--webhook-service",
      `${NS}/aegis-webhook`,
      "--evidence-signing-key",
      "/etc/aegis/evidence-key/signing-key.pem",
    ]);
    expect(c.env?.find((e) => e.name === "AEGIS_NAMESPACE")?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.namespace");
    expect(c.ports?.map((p) => [p.name, p.containerPort])).toEqual([
      ["http-api", 8750],
      ["https-webhook", 9443],
    ]);
  });

  it("runs as the ServiceAccount aegis-sa with Prometheus scrape annotations", () => {
    expect(deployment.spec?.template.spec?.serviceAccountName).toBe("aegis-sa");
    findObject(defaults, "ServiceAccount", "aegis-sa");
    expect(deployment.spec?.template.metadata?.annotations).toMatchObject({
      "prometheus.io/scrape": "true",
      "prometheus.io/port": "8750",
    });
  });

  it("reads DATABASE_URL from the database Secret and sets no Redis, Slack or GitHub variables by default", () => {
    const names = c.env?.map((e) => e.name) ?? [];
    expect(names.filter((n) => /^(DATABASE_URL|REDIS_URL|SLACK_|GITHUB_)/.test(n))).toEqual(["DATABASE_URL"]);
    expect(c.env?.find((e) => e.name === "DATABASE_URL")?.valueFrom?.secretKeyRef).toEqual({
      name: "aegis-db",
      key: "DATABASE_URL",
    });
  });
});

/** `--flag` names `aegis serve` accepts, and the environment variables it reads. */
const SERVE_FLAGS = new Set(SERVE_OPTIONS.map((option) => option.flag.split(" ")[0]));
const SERVE_ENV = new Set<string>(SERVE_OPTIONS.map((option) => option.env));

describe("the chart and `aegis serve` agree", () => {
  it("every flag and AEGIS_*/DATABASE_URL/REDIS_URL variable the chart passes is one aegis serve knows", async () => {
    const { objects } = await render({
      set: { "database.url": "postgres://db/aegis", "redis.url": "redis://redis:6379" },
    });
    const c = container(findObject<V1StatefulSet>(objects, "StatefulSet", "aegis"));
    const [command, ...rest] = c.args ?? [];
    expect(command).toBe("serve");
    for (const flag of rest.filter((arg) => arg.startsWith("--"))) expect(SERVE_FLAGS, flag).toContain(flag);
    const env = (c.env ?? []).map((e) => e.name).filter((name) => /^(AEGIS_|DATABASE_URL$|REDIS_URL$)/.test(name));
    expect(env.length).toBeGreaterThan(5);
    for (const name of env) expect(SERVE_ENV, name).toContain(name);
  });

  it("every Slack, GitHub and dashboard variable the chart sets (token mode) is one AEGIS reads", async () => {
    const { objects } = await render({
      set: {
        "slack.enabled": "true",
        "slack.existingSecret": "s",
        "github.enabled": "true",
        "github.existingSecret": "g",
        "github.webhookSecretKey": "w",
        "github.apiUrl": "https://ghe.example.com/api/v3",
        dashboardUrl: "https://aegis.example.com",
      },
    });
    const names = (container(findObject<V1StatefulSet>(objects, "StatefulSet", "aegis")).env ?? [])
      .map((e) => e.name)
      .filter((n) => /^(SLACK_|GITHUB_|AEGIS_DASHBOARD_URL$)/.test(n));
    expect(names.sort()).toEqual([
      "AEGIS_DASHBOARD_URL",
      "GITHUB_API_URL",
      "GITHUB_TOKEN",
      "GITHUB_WEBHOOK_SECRET",
      "SLACK_BOT_TOKEN",
      "SLACK_SIGNING_SECRET",
    ]);
    for (const name of names) expect(Object.keys(INTEGRATION_ENV), name).toContain(name);
  });

  it("cert-manager mode's flags are ones aegis serve knows", () => {
    const args = container(findObject<V1StatefulSet>(certManager, "StatefulSet", "aegis")).args ?? [];
    for (const flag of args.filter((arg) => arg.startsWith("--"))) expect(SERVE_FLAGS, flag).toContain(flag);
  });
});

describe("webhook.clientCA (mutual TLS)", () => {
  const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

  it("is off by default: no --webhook-client-ca, no client CA volume", () => {
    const c = container(findObject<V1StatefulSet>(defaults, "StatefulSet", "aegis"));
    expect(c.args).not.toContain("--webhook-client-ca");
    expect(c.volumeMounts?.map((m) => m.name)).not.toContain("webhook-client-ca");
  });

  it("mounts a Secret's key as a directory and passes it as --webhook-client-ca", async () => {
    const { objects } = await render({
      set: { "webhook.clientCA.secretName": "apiserver-webhook-client-ca", "webhook.clientCA.key": "tls.crt" },
    });
    const deployment = findObject<V1StatefulSet>(objects, "StatefulSet", "aegis");
    const c = container(deployment);
    const args = c.args ?? [];
    expect(args[args.indexOf("--webhook-client-ca") + 1]).toBe("/etc/aegis/webhook-client-ca/tls.crt");
    expect(SERVE_FLAGS).toContain("--webhook-client-ca");
    // A directory, not a subPath, so that kubelet's updates (a rotated CA) reach AEGIS.
    expect(c.volumeMounts).toContainEqual({
      name: "webhook-client-ca",
      mountPath: "/etc/aegis/webhook-client-ca",
      readOnly: true,
    });
    expect(deployment.spec?.template.spec?.volumes).toContainEqual({
      name: "webhook-client-ca",
      secret: {
        secretName: "apiserver-webhook-client-ca",
        items: [{ key: "tls.crt", path: "tls.crt" }],
        defaultMode: 0o440,
      },
    });
  });

  it("renders a PEM into a ConfigMap and mounts that", async () => {
    const { objects } = await render({ values: { webhook: { clientCA: { pem: PEM } } } });
    const configMap = findObject<{ data: Record<string, string> }>(objects, "ConfigMap", "aegis-webhook-client-ca");
    expect(configMap.data).toEqual({ "ca.crt": PEM });
    const deployment = findObject<V1StatefulSet>(objects, "StatefulSet", "aegis");
    const args = container(deployment).args ?? [];
    expect(args[args.indexOf("--webhook-client-ca") + 1]).toBe("/etc/aegis/webhook-client-ca/ca.crt");
    expect(deployment.spec?.template.spec?.volumes).toContainEqual({
      name: "webhook-client-ca",
      configMap: { name: "aegis-webhook-client-ca", defaultMode: 0o440 },
    });
  });

  it("refuses both a Secret and a PEM, and a PEM that is no certificate", async () => {
    const both = await helm([
      "template",
      "aegis",
      chartDir,
      "--set",
      "replicaCount=1,webhook.clientCA.secretName=x,webhook.clientCA.pem=-----BEGIN CERTIFICATE-----x-----END CERTIFICATE-----",
    ]);
    expect(both.stderr).toContain("give webhook.clientCA.secretName or webhook.clientCA.pem, not both");
    const garbage = await helm(["template", "aegis", chartDir, "--set", "webhook.clientCA.pem=garbage"]);
    expect(garbage.code).not.toBe(0);
    expect(garbage.stderr).toMatch(/schema|values don't meet/i);
  });

  it("limits who reaches the webhook port to networkPolicy.webhookFrom", async () => {
    const { objects } = await render({
      values: { networkPolicy: { enabled: true, webhookFrom: [{ ipBlock: { cidr: "172.16.0.2/32" } }] } },
    });
    const policy = findObject<{ spec: { ingress: { ports: { port: number }[]; from?: unknown[] }[] } }>(
      objects,
      "NetworkPolicy",
    );
    const webhookRule = policy.spec.ingress.find((rule) => rule.ports.some((p) => p.port === 9443));
    expect(webhookRule?.from).toEqual([{ ipBlock: { cidr: "172.16.0.2/32" } }]);
  });

  it("keeps helm lint clean with a client CA", async () => {
    const result = await helm([
      "lint",
      chartDir,
      "--strict",
      "--set",
      "webhook.clientCA.secretName=ca,networkPolicy.enabled=true,database.existingSecret.name=aegis-db",
    ]);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).not.toMatch(/\[(INFO|WARNING|ERROR)\]/);
  });
});

describe("Services and PodDisruptionBudget", () => {
  it("aegis-api serves 8750 and aegis-webhook 443 → 9443, both selecting the AEGIS pods", () => {
    const deployment = findObject<V1StatefulSet>(defaults, "StatefulSet", "aegis");
    const api = findObject<V1Service>(defaults, "Service", "aegis-api");
    const webhook = findObject<V1Service>(defaults, "Service", "aegis-webhook");
    expect(api.spec?.ports?.map((p) => [p.port, p.targetPort])).toEqual([[8750, "http-api"]]);
    expect(webhook.spec?.ports?.map((p) => [p.port, p.targetPort])).toEqual([[443, "https-webhook"]]);
    const webhookPort = container(deployment).ports?.find((p) => p.name === "https-webhook");
    expect(webhookPort?.containerPort).toBe(9443);
    for (const service of [api, webhook]) expect(service.spec?.selector).toEqual(deployment.spec?.selector.matchLabels);
  });

  it("keeps at least one replica through voluntary disruptions", () => {
    const pdb = findObject<V1PodDisruptionBudget>(defaults, "PodDisruptionBudget");
    expect(pdb.apiVersion).toBe("policy/v1");
    expect(pdb.spec?.minAvailable).toBe(1);
    expect(pdb.spec?.selector?.matchLabels).toEqual(
      findObject<V1StatefulSet>(defaults, "StatefulSet", "aegis").spec?.selector.matchLabels,
    );
  });

  it("no pod outside the StatefulSet matches its selector (the cleanup hook's pod)", () => {
    const selector = findObject<V1StatefulSet>(defaults, "StatefulSet", "aegis").spec?.selector.matchLabels ?? {};
    const job = findObject<V1Job>(defaults, "Job", "aegis-cleanup");
    const labels = job.spec?.template.metadata?.labels ?? {};
    expect(Object.entries(selector).every(([k, v]) => labels[k] === v)).toBe(false);
  });
});

interface RbacFile {
  clusterRoles: Map<string, V1ClusterRole>;
  roles: Map<string, V1Role>;
}

async function deployRbac(): Promise<RbacFile> {
  const text = await readFile(path.join(repoRoot, "deploy", "rbac.yaml"), "utf8");
  const docs = parseAllDocuments(text).map((d) => d.toJS() as KubeObject | null);
  const clusterRoles = new Map<string, V1ClusterRole>();
  const roles = new Map<string, V1Role>();
  for (const doc of docs) {
    if (doc?.kind === "ClusterRole") clusterRoles.set(doc.metadata.name, doc);
    if (doc?.kind === "Role") roles.set(doc.metadata.name, doc);
  }
  return { clusterRoles, roles };
}

describe("RBAC", () => {
  it("gives AEGIS exactly the rules of deploy/rbac.yaml (cluster-wide, and secrets/configmaps/leases in its namespace)", async () => {
    const reference = await deployRbac();
    for (const name of ["aegis", "aegis-approver", "aegis-viewer"]) {
      expect(findObject<V1ClusterRole>(defaults, "ClusterRole", name).rules, name).toEqual(
        reference.clusterRoles.get(name)?.rules,
      );
    }
    const role = findObject<V1Role>(defaults, "Role", "aegis");
    expect(role.metadata?.namespace).toBe(NS);
    expect(role.rules).toEqual(reference.roles.get("aegis")?.rules);
    expect([...new Set(role.rules?.flatMap((r) => r.resources ?? []))].sort()).toEqual([
      "configmaps",
      "leases",
      "secrets",
    ]);
    const binding = findObject<V1RoleBinding>(defaults, "RoleBinding", "aegis");
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: "aegis-sa", namespace: NS }]);
    const clusterBinding = findObject<V1RoleBinding>(defaults, "ClusterRoleBinding", "aegis");
    expect(clusterBinding.roleRef).toEqual({
      apiGroup: "rbac.authorization.k8s.io",
      kind: "ClusterRole",
      name: "aegis",
    });
    expect(clusterBinding.subjects).toEqual([{ kind: "ServiceAccount", name: "aegis-sa", namespace: NS }]);
  });

  it("aegis-approver may approve and patch approvalrequests; aegis-viewer only reads and aggregates into view", () => {
    const approver = findObject<V1ClusterRole>(defaults, "ClusterRole", "aegis-approver");
    const onRequests = approver.rules?.find((r) => r.resources?.includes("approvalrequests"));
    expect(onRequests?.apiGroups).toEqual(["aegis.valina.ai"]);
    expect(onRequests?.verbs).toEqual(expect.arrayContaining(["approve", "patch", "get", "list", "watch"]));
    expect(approver.metadata?.labels?.["rbac.authorization.k8s.io/aggregate-to-admin"]).toBeUndefined();
    const viewer = findObject<V1ClusterRole>(defaults, "ClusterRole", "aegis-viewer");
    expect(viewer.rules?.flatMap((r) => r.verbs).sort()).toEqual(["get", "list", "watch"]);
    expect(viewer.metadata?.labels?.["rbac.authorization.k8s.io/aggregate-to-view"]).toBe("true");
  });

  it("binds aegis-approver to the configured groups and aggregates it into admin only when asked", async () => {
    const { objects } = await render({
      set: { "rbac.approver.groups[0]": "sre-leads", "rbac.approver.aggregateToAdmin": "true" },
    });
    const binding = findObject<V1RoleBinding>(objects, "ClusterRoleBinding", "aegis-approver");
    expect(binding.subjects).toEqual([{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "sre-leads" }]);
    expect(
      findObject<V1ClusterRole>(objects, "ClusterRole", "aegis-approver").metadata?.labels?.[
        "rbac.authorization.k8s.io/aggregate-to-admin"
      ],
    ).toBe("true");
  });

  it("the uninstall hook may delete only the ValidatingWebhookConfiguration aegis", () => {
    const cleanup = findObject<V1ClusterRole>(defaults, "ClusterRole", "aegis-cleanup");
    expect(cleanup.rules).toEqual([
      {
        apiGroups: ["admissionregistration.k8s.io"],
        resources: ["validatingwebhookconfigurations"],
        resourceNames: ["aegis"],
        verbs: ["delete"],
      },
    ]);
    expect(cleanup.metadata?.annotations?.["helm.sh/hook"]).toBe("pre-delete");
  });
});

describe("namespaces", () => {
  it.each<[string, Record<string, string>]>([
    ["defaults", {}],
    [
      "cert-manager mode",
      {
        "webhook.certManager.enabled": "true",
        "serviceMonitor.enabled": "true",
        "prometheusRule.enabled": "true",
        "grafanaDashboard.enabled": "true",
        "networkPolicy.enabled": "true",
        "database.url": "postgres://db/aegis",
      },
    ],
  ])("every namespaced object (%s) is in the release namespace, cluster-scoped ones have none", async (_name, set) => {
    const { objects } = await render({ namespace: "gatekeeping", set });
    expect(objects.length).toBeGreaterThan(10);
    for (const object of objects) {
      const where = `${object.kind}/${object.metadata.name}`;
      if (CLUSTER_SCOPED_KINDS.has(object.kind)) expect(object.metadata.namespace, where).toBeUndefined();
      else expect(object.metadata.namespace, where).toBe("gatekeeping");
    }
    const deployment = findObject<V1StatefulSet>(objects, "StatefulSet", "aegis");
    const args = container(deployment).args ?? [];
    if (set["webhook.certManager.enabled"] !== "true") expect(args).toContain("gatekeeping/aegis-webhook");
  });
});

describe("cert-manager mode", () => {
  it("renders an Issuer and a Certificate for the webhook Service's DNS names", () => {
    const issuer = findObject(certManager, "Issuer");
    expect(issuer.spec).toEqual({ selfSigned: {} });
    const certificate = findObject<{
      spec: { secretName: string; dnsNames: string[]; issuerRef: { name: string; kind: string } };
    }>(certManager, "Certificate", "aegis-webhook-tls");
    expect(certificate.spec.secretName).toBe("aegis-webhook-tls");
    expect(certificate.spec.dnsNames).toEqual([`aegis-webhook.${NS}.svc`, `aegis-webhook.${NS}.svc.cluster.local`]);
    expect(certificate.spec.issuerRef).toMatchObject({ name: issuer.metadata.name, kind: "Issuer" });
  });

  it("uses an existing issuer instead when given one", async () => {
    const { objects } = await render({
      set: {
        "webhook.certManager.enabled": "true",
        "webhook.certManager.issuerRef.name": "corp-ca",
        "webhook.certManager.issuerRef.kind": "ClusterIssuer",
      },
    });
    expect(objects.some((o) => o.kind === "Issuer")).toBe(false);
    expect(findObject<{ spec: { issuerRef: unknown } }>(objects, "Certificate").spec.issuerRef).toEqual({
      name: "corp-ca",
      kind: "ClusterIssuer",
    });
  });

  it("renders the ValidatingWebhookConfiguration aegis with inject-ca-from, equal to AEGIS's own but for the caBundle", () => {
    const rendered = findObject<V1ValidatingWebhookConfiguration>(
      certManager,
      "ValidatingWebhookConfiguration",
      "aegis",
    );
    expect(rendered.metadata?.annotations?.["cert-manager.io/inject-ca-from"]).toBe(`${NS}/aegis-webhook-tls`);
    const own = buildWebhookConfiguration(
      { service: { namespace: NS, name: "aegis-webhook", port: 443 } },
      "unused",
      NS,
    );
    const withoutCa = (config: V1ValidatingWebhookConfiguration): unknown =>
      (config.webhooks ?? []).map(({ clientConfig, ...webhook }) => ({
        ...webhook,
        clientConfig: { ...clientConfig, caBundle: undefined },
      }));
    expect(withoutCa(rendered)).toEqual(withoutCa(own));
  });

  it("mounts the Certificate's Secret and does not ask AEGIS to manage the configuration", () => {
    const deployment = findObject<V1StatefulSet>(certManager, "StatefulSet", "aegis");
    const c = container(deployment);
    expect(c.args).toEqual([
      "serve",
      "--webhook-cert-dir",
      "/etc/aegis/webhook-tls",
      "--evidence-signing-key",
      "/etc/aegis/evidence-key/signing-key.pem",
    ]);
    expect(c.args).not.toContain("--webhook-service");
    expect(c.volumeMounts).toContainEqual({ name: "webhook-tls", mountPath: "/etc/aegis/webhook-tls", readOnly: true });
    expect(deployment.spec?.template.spec?.volumes).toContainEqual({
      name: "webhook-tls",
      secret: { secretName: "aegis-webhook-tls", defaultMode: 0o440 },
    });
    expect(certManager.some((o) => o.kind === "Job")).toBe(false);
  });

  it("adds a ServiceMonitor on the API Service's /metrics and a NetworkPolicy for both ports", () => {
    const monitor = findObject<{
      spec: { endpoints: { port: string; path: string }[]; selector: { matchLabels: Record<string, string> } };
    }>(certManager, "ServiceMonitor");
    expect(monitor.spec.endpoints).toMatchObject([{ port: "http-api", path: "/metrics" }]);
    const api = findObject<V1Service>(certManager, "Service", "aegis-api");
    expect(Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => api.metadata?.labels?.[k] === v)).toBe(
      true,
    );
    const webhook = findObject<V1Service>(certManager, "Service", "aegis-webhook");
    expect(
      Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => webhook.metadata?.labels?.[k] === v),
    ).toBe(false);
    const policy = findObject<{ spec: { ingress: { ports: { port: number }[] }[] } }>(certManager, "NetworkPolicy");
    expect(policy.spec.ingress.flatMap((rule) => rule.ports.map((p) => p.port)).sort()).toEqual([8750, 9443]);
  });
});

describe("connections and integrations", () => {
  it("takes DATABASE_URL and REDIS_URL from a chart Secret when given in plain values", async () => {
    const { objects } = await render({
      set: { "database.url": "postgres://aegis:pw@db:5432/aegis", "redis.url": "redis://redis:6379" },
    });
    const secret = findObject<{ stringData: Record<string, string> }>(objects, "Secret", "aegis-env");
    expect(secret.stringData).toEqual({
      DATABASE_URL: "postgres://aegis:pw@db:5432/aegis",
      REDIS_URL: "redis://redis:6379",
    });
    const env = container(findObject<V1StatefulSet>(objects, "StatefulSet")).env ?? [];
    expect(env.find((e) => e.name === "DATABASE_URL")?.valueFrom?.secretKeyRef).toEqual({
      name: "aegis-env",
      key: "DATABASE_URL",
    });
    expect(env.find((e) => e.name === "REDIS_URL")?.valueFrom?.secretKeyRef).toEqual({
      name: "aegis-env",
      key: "REDIS_URL",
    });
    expect(
      findObject<V1StatefulSet>(objects, "StatefulSet").spec?.template.metadata?.annotations?.["checksum/env"],
    ).toMatch(/^[a-f0-9]{64}$/);
  });

  it("reads them from existing Secrets, and Slack and GitHub (token or app) credentials from Secrets", async () => {
    const { objects } = await render({
      set: {
        "database.existingSecret.name": "pg",
        "redis.existingSecret.name": "rd",
        "redis.existingSecret.key": "url",
        "slack.enabled": "true",
        "slack.existingSecret": "slack-creds",
        "github.enabled": "true",
        "github.existingSecret": "gh-app",
        "github.webhookSecretKey": "webhook-secret",
      },
    });
    expect(objects.filter((o) => o.kind === "Secret").map((o) => o.metadata.name)).toEqual([
      "aegis-evidence-signing-key",
    ]);
    const env = container(findObject<V1StatefulSet>(objects, "StatefulSet")).env ?? [];
    const ref = (name: string): unknown => env.find((e) => e.name === name)?.valueFrom?.secretKeyRef;
    expect(ref("DATABASE_URL")).toEqual({ name: "pg", key: "DATABASE_URL" });
    expect(ref("REDIS_URL")).toEqual({ name: "rd", key: "url" });
    expect(ref("SLACK_BOT_TOKEN")).toEqual({ name: "slack-creds", key: "bot-token" });
    expect(ref("SLACK_SIGNING_SECRET")).toEqual({ name: "slack-creds", key: "signing-secret" });
    expect(ref("GITHUB_TOKEN")).toEqual({ name: "gh-app", key: "token" });
    expect(ref("GITHUB_WEBHOOK_SECRET")).toEqual({ name: "gh-app", key: "webhook-secret" });

    const token = await render({ set: { "github.enabled": "true", "github.existingSecret": "gh" } });
    const tokenEnv = container(findObject<V1StatefulSet>(token.objects, "StatefulSet")).env ?? [];
    expect(tokenEnv.find((e) => e.name === "GITHUB_TOKEN")?.valueFrom?.secretKeyRef).toEqual({
      name: "gh",
      key: "token",
    });
  });

  it("renders the Slack identity map aegis-slack-users when given users", async () => {
    const none = await render();
    expect(none.objects.some((o) => o.kind === "ConfigMap")).toBe(false);
    const { objects } = await render({
      namespace: NS,
      values: { slack: { users: { U0123ABCD: "alice", U0456EFGH: "bob" } } },
    });
    const map = findObject<{ metadata: { namespace: string }; data: Record<string, string> }>(
      objects,
      "ConfigMap",
      "aegis-slack-users",
    );
    expect(map.metadata.namespace).toBe(NS);
    expect(map.data).toEqual({ U0123ABCD: "alice", U0456EFGH: "bob" });
  });

  // Helm installs crds/ only when absent, so Kyverno's or Trivy Operator's report CRDs are never replaced.
  it("CRDs ship in crds/ (installed by helm before the templates), the wgpolicyk8s.io report CRDs too", async () => {
    const { objects } = await render({ includeCrds: true });
    expect(
      objects
        .filter((o) => o.kind === "CustomResourceDefinition")
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual([
      "aegisexceptions.aegis.valina.ai",
      "aegispolicies.aegis.valina.ai",
      "approvalrequests.aegis.valina.ai",
      "clusterpolicyreports.wgpolicyk8s.io",
      "policyreports.wgpolicyk8s.io",
    ]);
  });
});

describe("evidence cannot be lost by default", () => {
  it("values.schema.json refuses more than one replica without PostgreSQL, naming the ways out", async () => {
    for (const args of [[], ["--set", "replicaCount=3"]]) {
      const result = await helm(["template", "aegis", chartDir, ...args]);
      expect(result.code, args.join(" ")).not.toBe(0);
      expect(result.stderr).toMatch(/values don't meet the specifications of the schema/);
      expect(result.stderr).toMatch(/\/replicaCount': maximum: got [23], want 1/);
      expect(result.stderr).toContain("/database/url': minLength");
      expect(result.stderr).toContain("/database/existingSecret/name': minLength");
    }
    for (const ok of ["replicaCount=1", "database.url=postgres://db/aegis", "database.existingSecret.name=pg"]) {
      const result = await helm(["template", "aegis", chartDir, "--set", ok]);
      expect(result.code, `${ok}: ${result.stderr}`).toBe(0);
    }
  });

  it("puts each replica's data dir (spool, PGlite) on a PersistentVolumeClaim of a StatefulSet", () => {
    expect(defaults.some((o) => o.kind === "Deployment")).toBe(false);
    const set = findObject<V1StatefulSet>(defaults, "StatefulSet", "aegis");
    expect(set.spec?.replicas).toBe(2);
    expect(set.spec?.template.spec?.volumes?.some((v) => v.name === "data")).toBe(false); // not an emptyDir
    expect(set.spec?.volumeClaimTemplates).toEqual([
      {
        metadata: { name: "data", labels: set.spec?.selector.matchLabels },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
      },
    ]);
    expect(container(set).volumeMounts).toContainEqual({ name: "data", mountPath: "/app/data" });
    expect(set.spec?.persistentVolumeClaimRetentionPolicy).toEqual({ whenDeleted: "Retain", whenScaled: "Retain" });
    expect(set.spec?.serviceName).toBe("aegis-api");
  });

  it("migrates as the owner login in a pre-install/pre-upgrade Job the pods never share (database.admin)", async () => {
    const { objects } = await render({
      set: { "database.existingSecret.name": "pg-serve", "database.admin.existingSecret.name": "pg-owner" },
    });
    const job = findObject<V1Job>(objects, "Job", "aegis-evidence-migrate");
    expect(job.metadata?.annotations?.["helm.sh/hook"]).toBe("pre-install,pre-upgrade");
    const pod = job.spec?.template.spec;
    const migrate = pod?.containers[0];
    expect(migrate?.args).toEqual(["evidence", "migrate"]);
    expect(migrate?.env).toEqual([
      {
        name: "AEGIS_DATABASE_ADMIN_URL",
        valueFrom: { secretKeyRef: { name: "pg-owner", key: "DATABASE_ADMIN_URL" } },
      },
      { name: "DATABASE_URL", valueFrom: { secretKeyRef: { name: "pg-serve", key: "DATABASE_URL" } } },
    ]);
    expect(migrate?.securityContext).toEqual(
      container(findObject<V1StatefulSet>(objects, "StatefulSet", "aegis")).securityContext,
    );
    expect(pod?.automountServiceAccountToken).toBe(false);
    const serving = JSON.stringify(findObject<V1StatefulSet>(objects, "StatefulSet", "aegis"));
    expect(serving).not.toContain("pg-owner");
    expect(serving).not.toContain("AEGIS_DATABASE_ADMIN_URL");
    expect(defaults.some((o) => o.kind === "Job" && o.metadata.name === "aegis-evidence-migrate")).toBe(false);
    const plain = await helm([
      "template",
      "aegis",
      chartDir,
      "--set",
      "database.url=postgres://db/aegis",
      "--set",
      "database.admin.existingSecret.name=pg-owner",
    ]);
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toMatch(/database.admin needs database.existingSecret.name/);
  });

  it("takes the claim's size and storage class from persistence.*", async () => {
    const { objects } = await render({ set: { "persistence.size": "5Gi", "persistence.storageClassName": "fast" } });
    expect(findObject<V1StatefulSet>(objects, "StatefulSet", "aegis").spec?.volumeClaimTemplates?.[0]?.spec).toEqual({
      accessModes: ["ReadWriteOnce"],
      storageClassName: "fast",
      resources: { requests: { storage: "5Gi" } },
    });
  });

  it("one replica without a database keeps its PGlite on the claim too", async () => {
    const { objects } = await renderChart({ set: { replicaCount: "1" } });
    const set = findObject<V1StatefulSet>(objects, "StatefulSet", "aegis");
    expect(set.spec?.replicas).toBe(1);
    expect(container(set).env?.some((e) => e.name === "DATABASE_URL")).toBe(false);
    expect(set.spec?.volumeClaimTemplates?.map((t) => t.metadata?.name)).toEqual(["data"]);
  });

  it("every replica mounts one signing-key Secret, created once and kept, passed as --evidence-signing-key", () => {
    const set = findObject<V1StatefulSet>(defaults, "StatefulSet", "aegis");
    const secret = findObject<{ metadata: { annotations: Record<string, string> }; data: Record<string, string> }>(
      defaults,
      "Secret",
      "aegis-evidence-signing-key",
    );
    const pem = Buffer.from(secret.data["signing-key.pem"] ?? "", "base64").toString("utf8");
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n[\s\S]+\n-----END PRIVATE KEY-----\n?$/);
    expect(createPrivateKey(pem).asymmetricKeyType).toBe("ed25519");
    expect(secret.metadata.annotations["helm.sh/resource-policy"]).toBe("keep");
    // One pod template for all replicas: each mounts this Secret, none generates a key of its own.
    expect(set.spec?.template.spec?.volumes).toContainEqual({
      name: "evidence-key",
      secret: {
        secretName: "aegis-evidence-signing-key",
        items: [{ key: "signing-key.pem", path: "signing-key.pem" }],
        defaultMode: 0o440,
      },
    });
    const args = container(set).args ?? [];
    expect(args[args.indexOf("--evidence-signing-key") + 1]).toBe("/etc/aegis/evidence-key/signing-key.pem");
    expect(SERVE_FLAGS).toContain("--evidence-signing-key");
  });

  it("uses evidenceSigningKey.existingSecret instead, rendering no key", async () => {
    const { objects } = await render({
      set: { "evidenceSigningKey.existingSecret": "corp-key", "evidenceSigningKey.key": "ed25519.pem" },
    });
    expect(objects.some((o) => o.metadata.name === "aegis-evidence-signing-key")).toBe(false);
    const set = findObject<V1StatefulSet>(objects, "StatefulSet", "aegis");
    expect(set.spec?.template.spec?.volumes).toContainEqual({
      name: "evidence-key",
      secret: { secretName: "corp-key", items: [{ key: "ed25519.pem", path: "ed25519.pem" }], defaultMode: 0o440 },
    });
    const args = container(set).args ?? [];
    expect(args[args.indexOf("--evidence-signing-key") + 1]).toBe("/etc/aegis/evidence-key/ed25519.pem");
  });
});
