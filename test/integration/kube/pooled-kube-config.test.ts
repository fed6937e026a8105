// client-node 2.0 opens a new TLS connection for every API call; AEGIS's KubeConfig reuses one
// pool per server and credentials. Measured against a local HTTPS server that answers like the
// API server's ConfigMap endpoint and counts the TLS connections it accepts.
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PooledKubeConfig } from "../../../src/adapters/kube/kube-config.js";
import { createCertificateAuthority, issueServingCertificate } from "../../../src/tls/certificates.js";

let server: Server;
let connections = 0;
let serverUrl = "";
let caPem = "";

beforeAll(async () => {
  const authority = await createCertificateAuthority();
  const serving = await issueServingCertificate(authority, ["127.0.0.1"]);
  caPem = authority.certPem;
  server = createServer({ key: serving.keyPem, cert: serving.certPem }, (req, res) => {
    if (req.headers.authorization !== "Bearer test-token") {
      res.writeHead(401, { "content-type": "application/json" }).end(JSON.stringify({ kind: "Status", code: 401 }));
      return;
    }
    const name = /\/configmaps\/([^/?]+)/.exec(req.url ?? "")?.[1] ?? "";
    res.writeHead(200, { "content-type": "application/json" }).end(
      JSON.stringify({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: { name, namespace: "aegis-system" },
        data: {},
      }),
    );
  });
  server.on("secureConnection", () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  serverUrl = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function configure(config: KubeConfig, token = "test-token"): KubeConfig {
  config.loadFromOptions({
    clusters: [{ name: "local", server: serverUrl, caData: Buffer.from(caPem).toString("base64") }],
    users: [{ name: "aegis", token }],
    contexts: [{ name: "local", cluster: "local", user: "aegis" }],
    currentContext: "local",
  });
  return config;
}

async function connectionsFor(config: KubeConfig, calls: number): Promise<number> {
  const before = connections;
  const core = config.makeApiClient(CoreV1Api);
  for (let i = 0; i < calls; i++) {
    const configMap = await core.readNamespacedConfigMap({ name: `cm-${i}`, namespace: "aegis-system" });
    expect(configMap.metadata?.name).toBe(`cm-${i}`);
  }
  return connections - before;
}

describe("the KubeConfig AEGIS's adapters use", () => {
  it("reuses its connections for sequential API calls, where client-node's own opens one per call", async () => {
    const baseline = await connectionsFor(configure(new KubeConfig()), 20);
    const pooled = await connectionsFor(configure(new PooledKubeConfig()), 20);
    console.log(JSON.stringify({ bench: "kube-client-tls-connections", calls: 20, clientNode: baseline, pooled }));
    expect(baseline).toBe(20);
    expect(pooled).toBeLessThanOrEqual(2);
  });

  it("keeps one pool per server and client credentials: the bearer token, a header, does not add one", async () => {
    const config = configure(new PooledKubeConfig());
    await connectionsFor(config, 3);
    expect((config as PooledKubeConfig).pooledDispatchers).toBe(1);
    // The token is a header, not part of the connection.
    const rotated = configure(config, "test-token");
    await connectionsFor(rotated, 3);
    expect((rotated as PooledKubeConfig).pooledDispatchers).toBe(1);
  });
});
