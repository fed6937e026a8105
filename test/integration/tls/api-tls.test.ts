// The REST API listener (port 8750) with --api-cert-dir: HTTPS with the folder's tls.crt/tls.key,
// reloaded when they change, and no plain HTTP on the port. The app is the real createApiApp
// wired as in test/integration/http/harness.ts; the listener is main.ts's listenApi.
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { afterEach, describe, expect, it } from "vitest";
import { createApiApp } from "../../../src/http/api-server.js";
import { listenApi, type ApiListener } from "../../../src/main.js";
import { harness, silentLogger } from "../http/harness.js";
import { serverCertificate, tlsFiles, type TlsFiles } from "./tls-files.js";

interface Reply {
  status: number;
  body: string;
}

function httpsGet(port: number, path: string, ca: string | undefined): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      { host: "127.0.0.1", port, path, ...(ca === undefined ? {} : { ca }), servername: "localhost", agent: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject).setTimeout(5_000, () => req.destroy(new Error("timed out")));
    req.end();
  });
}

function httpGet(port: number, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, path, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject).setTimeout(5_000, () => req.destroy(new Error("timed out")));
    req.end();
  });
}

const cleanup: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function certDir(): Promise<{ files: TlsFiles; ca: string }> {
  const files = tlsFiles("api-tls");
  cleanup.push(() => files.remove());
  const issued = await serverCertificate(["localhost", "127.0.0.1"], "aegis-test-api-ca");
  files.write("tls.crt", issued.certPem);
  files.write("tls.key", issued.keyPem);
  return { files, ca: issued.ca.certPem };
}

async function listen(dir: string | undefined, reloadIntervalMs?: number): Promise<ApiListener> {
  const api = await listenApi(createApiApp(harness().deps), {
    host: "127.0.0.1",
    port: 0,
    certDir: dir,
    logger: silentLogger,
    ...(reloadIntervalMs === undefined ? {} : { reloadIntervalMs }),
  });
  cleanup.push(() => api.close());
  return api;
}

describe("the API listener with --api-cert-dir", () => {
  it("serves GET /health over HTTPS to a client that trusts the CA", async () => {
    const { files, ca } = await certDir();
    const api = await listen(files.dir);
    expect(api.scheme).toBe("https");
    const reply = await httpsGet(api.port, "/health", ca);
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ status: "ok" });
  });

  it("refuses plain HTTP on the port: no HTTP response ever comes back", async () => {
    const { files } = await certDir();
    const api = await listen(files.dir);
    await expect(httpGet(api.port, "/health")).rejects.toThrow(/socket hang up|ECONNRESET/);
  });

  it("is refused by a client that does not trust the certificate's CA", async () => {
    const { files } = await certDir();
    const api = await listen(files.dir);
    await expect(httpsGet(api.port, "/health", undefined)).rejects.toThrow(/certificate/);
  });

  it("serves a renewed certificate to new connections without a restart", async () => {
    const { files, ca } = await certDir();
    const api = await listen(files.dir, 50);
    await new Promise((resolve) => setTimeout(resolve, 120));
    const renewed = await serverCertificate(["localhost", "127.0.0.1"], "aegis-test-api-ca-2");
    files.write("tls.crt", renewed.certPem);
    files.write("tls.key", renewed.keyPem);
    const deadline = Date.now() + 5_000;
    for (;;) {
      const served = await httpsGet(api.port, "/health", renewed.ca.certPem).catch(() => undefined);
      if (served?.status === 200) break;
      if (Date.now() > deadline) throw new Error("the renewed certificate was not served within 5 s");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await expect(httpsGet(api.port, "/health", ca)).rejects.toThrow(/certificate/);
  });

  it("stops at start, naming --api-cert-dir, when the folder lacks tls.crt/tls.key", async () => {
    const files = tlsFiles("api-tls-empty");
    cleanup.push(() => files.remove());
    await expect(listen(files.dir)).rejects.toThrow(
      new RegExp(`the API certificate \\(--api-cert-dir ${files.dir}, tls.crt and tls.key\\): ENOENT`),
    );
  });

  it("without a cert dir serves plain HTTP, as before", async () => {
    const api = await listen(undefined);
    expect(api.scheme).toBe("http");
    expect((await httpGet(api.port, "/health")).status).toBe(200);
  });
});
