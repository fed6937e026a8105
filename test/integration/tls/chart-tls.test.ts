// charts/aegis's TLS options for AEGIS's own hops, through the real helm (test/integration/chart/
// helm.ts): api.tls (HTTPS on 8750, probes and ServiceMonitor following), redis.tls.caSecret
// (AEGIS_REDIS_CA_FILE) and database.tls (the files DATABASE_URL names, in the pods and the Job).
import type { V1Container, V1Service, V1StatefulSet, V1Job, V1Volume } from "@kubernetes/client-node";
import { beforeAll, describe, expect, it } from "vitest";
import { SERVE_OPTIONS } from "../../../src/wiring/config.js";
import {
  buildHelm,
  chartDir,
  findObject,
  helm,
  HELM_BUILD_TIMEOUT_MS,
  renderChart,
  type KubeObject,
} from "../chart/helm.js";

const NS = "aegis-system";
const HA = { "database.existingSecret.name": "aegis-db" };

function statefulSet(objects: KubeObject[]): V1StatefulSet {
  return findObject<V1StatefulSet>(objects, "StatefulSet", "aegis");
}
function container(objects: KubeObject[]): V1Container {
  const c = statefulSet(objects).spec?.template.spec?.containers[0];
  if (!c) throw new Error("no container");
  return c;
}
function volume(objects: KubeObject[], name: string): V1Volume | undefined {
  return statefulSet(objects).spec?.template.spec?.volumes?.find((v) => v.name === name);
}
const certificates = (objects: KubeObject[]): KubeObject[] => objects.filter((o) => o.kind === "Certificate");

beforeAll(async () => {
  await buildHelm();
}, HELM_BUILD_TIMEOUT_MS);

describe("api.tls", () => {
  it("off (default): HTTP on http-api, probes without a scheme, no API certificate", async () => {
    const { objects } = await renderChart({ namespace: NS, set: HA });
    const c = container(objects);
    expect(c.args).not.toContain("--api-cert-dir");
    expect(c.ports?.map((p) => p.name)).toContain("http-api");
    expect(c.readinessProbe?.httpGet?.scheme).toBeUndefined();
    expect(certificates(objects)).toEqual([]);
  });

  it("with cert-manager: a Certificate for aegis-api, mounted and served with --api-cert-dir, probes over HTTPS", async () => {
    const { objects } = await renderChart({
      namespace: NS,
      set: { ...HA, "api.tls.enabled": "true", "serviceMonitor.enabled": "true" },
      values: { api: { tls: { certManager: { dnsNames: ["aegis.example.com"] } } } },
    });
    const certificate = findObject<KubeObject & { spec: Record<string, unknown> }>(
      objects,
      "Certificate",
      "aegis-api-tls",
    );
    expect(certificate.spec).toMatchObject({
      secretName: "aegis-api-tls",
      dnsNames: [
        "aegis-api.aegis-system.svc",
        "aegis-api.aegis-system.svc.cluster.local",
        "aegis-api",
        "aegis.example.com",
      ],
      issuerRef: { name: "aegis-selfsigned", kind: "Issuer" },
    });
    expect(certificate.spec["usages"]).toContain("server auth");
    findObject(objects, "Issuer", "aegis-selfsigned");
    const c = container(objects);
    expect(c.args).toEqual(expect.arrayContaining(["--api-cert-dir", "/etc/aegis/api-tls"]));
    expect(c.volumeMounts).toContainEqual({ name: "api-tls", mountPath: "/etc/aegis/api-tls", readOnly: true });
    expect(volume(objects, "api-tls")?.secret?.secretName).toBe("aegis-api-tls");
    expect(c.ports?.find((p) => p.containerPort === 8750)?.name).toBe("https-api");
    expect(c.readinessProbe?.httpGet).toMatchObject({ path: "/readyz", port: 8750, scheme: "HTTPS" });
    expect(c.livenessProbe?.httpGet).toMatchObject({ path: "/health", port: 8750, scheme: "HTTPS" });
    expect(statefulSet(objects).spec?.template.metadata?.annotations?.["prometheus.io/scheme"]).toBe("https");
    const service = findObject<V1Service>(objects, "Service", "aegis-api");
    expect(service.spec?.ports?.map((p) => [p.name, p.port, p.targetPort])).toEqual([["https-api", 8750, "https-api"]]);
    const monitor = findObject<KubeObject & { spec: { endpoints: Array<Record<string, unknown>> } }>(
      objects,
      "ServiceMonitor",
      "aegis",
    );
    expect(monitor.spec.endpoints[0]).toMatchObject({
      port: "https-api",
      scheme: "https",
      tlsConfig: { serverName: "aegis-api.aegis-system.svc", ca: { secret: { name: "aegis-api-tls", key: "ca.crt" } } },
    });
  });

  it("with an existing Secret: no Certificate, that Secret mounted; the webhook's cert-manager mode is unchanged", async () => {
    const { objects } = await renderChart({
      namespace: NS,
      set: {
        ...HA,
        "api.tls.enabled": "true",
        "api.tls.existingSecret": "my-api-cert",
        "webhook.certManager.enabled": "true",
      },
    });
    expect(certificates(objects).map((c) => c.metadata.name)).toEqual(["aegis-webhook-tls"]);
    expect(volume(objects, "api-tls")?.secret?.secretName).toBe("my-api-cert");
    expect(volume(objects, "webhook-tls")?.secret?.secretName).toBe("aegis-webhook-tls");
  });

  it("passes only flags aegis serve knows, and helm lint is clean", async () => {
    const { objects } = await renderChart({ namespace: NS, set: { ...HA, "api.tls.enabled": "true" } });
    const flags = new Set(SERVE_OPTIONS.map((option) => option.flag.split(" ")[0]));
    for (const arg of (container(objects).args ?? []).filter((a) => a.startsWith("--")))
      expect(flags, arg).toContain(arg);
    const lint = await helm([
      "lint",
      chartDir,
      "--strict",
      "--set",
      "api.tls.enabled=true",
      "--set",
      "database.existingSecret.name=db",
    ]);
    expect(lint.code, lint.stdout + lint.stderr).toBe(0);
  });
});

describe("redis.tls.caSecret", () => {
  it("mounts the CA and passes AEGIS_REDIS_CA_FILE, a variable aegis serve reads", async () => {
    const { objects } = await renderChart({
      namespace: NS,
      set: { ...HA, "redis.url": "rediss://aegis:pw@redis:6380", "redis.tls.caSecret.name": "redis-ca" },
    });
    const c = container(objects);
    expect(c.env).toContainEqual({ name: "AEGIS_REDIS_CA_FILE", value: "/etc/aegis/redis-tls/ca.crt" });
    expect(SERVE_OPTIONS.map((option) => option.env)).toContain("AEGIS_REDIS_CA_FILE");
    expect(c.volumeMounts).toContainEqual({ name: "redis-tls", mountPath: "/etc/aegis/redis-tls", readOnly: true });
    expect(volume(objects, "redis-tls")?.secret).toMatchObject({
      secretName: "redis-ca",
      items: [{ key: "ca.crt", path: "ca.crt" }],
    });
  });

  it("is refused with a redis:// URL", async () => {
    await expect(
      renderChart({
        namespace: NS,
        set: { ...HA, "redis.url": "redis://redis:6379", "redis.tls.caSecret.name": "redis-ca" },
      }),
    ).rejects.toThrow(/redis.tls.caSecret needs a rediss:\/\/ redis.url/);
  });
});

describe("database.tls", () => {
  it("mounts the Secret in the AEGIS pods and in the migration Job, where the URLs' sslrootcert points", async () => {
    const { objects } = await renderChart({
      namespace: NS,
      set: { ...HA, "database.admin.existingSecret.name": "aegis-db-admin", "database.tls.secretName": "db-tls" },
    });
    const mount = { name: "database-tls", mountPath: "/etc/aegis/database-tls", readOnly: true };
    expect(container(objects).volumeMounts).toContainEqual(mount);
    expect(volume(objects, "database-tls")?.secret?.secretName).toBe("db-tls");
    const job = findObject<V1Job>(objects, "Job", "aegis-evidence-migrate");
    expect(job.spec?.template.spec?.containers[0]?.volumeMounts).toContainEqual(mount);
    expect(job.spec?.template.spec?.volumes?.find((v) => v.name === "database-tls")?.secret?.secretName).toBe("db-tls");
  });
});
