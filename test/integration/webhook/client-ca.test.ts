// Mutual TLS on the webhook (--webhook-client-ca): only a caller presenting a certificate that
// chains to the configured CA completes the TLS handshake; everyone else is refused before a
// byte of HTTP is parsed, and the handler never sees their AdmissionReview.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createCertificateAuthority,
  issueClientCertificate,
  issueServingCertificate,
  type CertificateAuthority,
  type ServingCertificate,
} from "../../../src/tls/certificates.js";
import { readClientCa, validateClientCa, watchClientCa } from "../../../src/tls/client-ca.js";
import { allow } from "../../../src/webhook/admission-review.js";
import { WebhookServer } from "../../../src/webhook/server.js";

let servingCa: CertificateAuthority;
let clientCa: CertificateAuthority;
let otherCa: CertificateAuthority;
let apiserverCert: ServingCertificate;
let foreignCert: ServingCertificate;
let server: WebhookServer;
let port = 0;
let handled = 0;
const warnings: Record<string, unknown>[] = [];
let workDir = "";

const review = JSON.stringify({
  apiVersion: "admission.k8s.io/v1",
  kind: "AdmissionReview",
  request: {
    uid: "forged",
    kind: { group: "aegis.valina.ai", version: "v1alpha1", kind: "ApprovalRequest" },
    resource: { group: "aegis.valina.ai", version: "v1alpha1", resource: "approvalrequests" },
    operation: "CREATE",
    userInfo: { username: "system:serviceaccount:aegis-system:aegis-sa" },
  },
});

type Outcome = { status: number; body: string } | { error: string };

/** One POST on a fresh connection (no keep-alive reuse), with `client` as its certificate if given. */
function post(client?: { certPem: string; keyPem: string }): Promise<Outcome> {
  return new Promise((resolve) => {
    const req = httpsRequest(
      {
        host: "127.0.0.1",
        port,
        path: "/validate",
        method: "POST",
        ca: servingCa.certPem,
        agent: false,
        ...(client ? { cert: client.certPem, key: client.keyPem } : {}),
        headers: { "content-type": "application/json" },
      },
      (res) => {
        let text = "";
        res.on("data", (chunk: Buffer) => (text += chunk.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on("error", (error) => resolve({ error: error.message }));
      },
    );
    req.on("error", (error: NodeJS.ErrnoException) => resolve({ error: `${error.code ?? ""} ${error.message}` }));
    req.end(review);
  });
}

function expectRefused(outcome: Outcome, reason: RegExp): void {
  expect(outcome).toHaveProperty("error");
  if ("error" in outcome) expect(outcome.error).toMatch(reason);
}

function expectServed(outcome: Outcome): void {
  expect(outcome).toMatchObject({ status: 200 });
  if ("body" in outcome) expect(JSON.parse(outcome.body)).toMatchObject({ response: { uid: "forged", allowed: true } });
}

beforeAll(async () => {
  [servingCa, clientCa, otherCa] = await Promise.all([
    createCertificateAuthority("aegis-webhook-ca"),
    createCertificateAuthority("webhook-client-ca"),
    createCertificateAuthority("some-other-ca"),
  ]);
  apiserverCert = await issueClientCertificate(clientCa, "kube-apiserver-webhook-client");
  foreignCert = await issueClientCertificate(otherCa, "kube-apiserver-webhook-client");
  const serving = await issueServingCertificate(servingCa, ["127.0.0.1"]);
  workDir = await mkdtemp(path.join(tmpdir(), "aegis-client-ca-"));
  const caFile = path.join(workDir, "webhook-client-ca.crt");
  await writeFile(caFile, clientCa.certPem);
  server = new WebhookServer({
    host: "127.0.0.1",
    port: 0,
    tls: { key: serving.keyPem, cert: serving.certPem },
    clientCa: await readClientCa(caFile),
    handler: (request) => {
      handled += 1;
      return Promise.resolve(allow(request.uid));
    },
    logger: { error: () => undefined, warn: (fields) => warnings.push(fields) },
  });
  port = await server.listen();
});

afterAll(async () => {
  await server.close();
  await rm(workDir, { recursive: true, force: true });
});

describe("the webhook with --webhook-client-ca", () => {
  it("refuses a caller without a client certificate in the TLS handshake; the handler never runs", async () => {
    const before = handled;
    expectRefused(await post(), /CERTIFICATE_REQUIRED|ECONNRESET/);
    expect(handled).toBe(before);
  });

  it("refuses a client certificate from another CA, even with the API server's name", async () => {
    const before = handled;
    expectRefused(await post(foreignCert), /UNKNOWN_CA|ECONNRESET/);
    expect(handled).toBe(before);
  });

  it("serves a caller whose client certificate chains to the configured CA", async () => {
    const before = handled;
    expectServed(await post(apiserverCert));
    expect(handled).toBe(before + 1);
  });

  it("refuses a certificate from the configured CA that is not meant for clients (serverAuth only)", async () => {
    const serverOnly = await issueServingCertificate(clientCa, ["127.0.0.1"]);
    expectRefused(await post(serverOnly), /UNSUPPORTED_CERTIFICATE|ECONNRESET/);
  });

  it("counts refused clients and logs them at warn", () => {
    expect(server.refusedClients).toBeGreaterThanOrEqual(3);
    expect(warnings[0]?.["remoteAddress"]).toBe("127.0.0.1");
    expect(String(warnings[0]?.["reason"])).toMatch(/peer did not return a certificate/);
  });

  it("keeps requiring client certificates after the serving certificate rotates", async () => {
    const next = await issueServingCertificate(servingCa, ["127.0.0.1"]);
    server.updateCertificate({ key: next.keyPem, cert: next.certPem });
    expectRefused(await post(), /CERTIFICATE_REQUIRED|ECONNRESET/);
    expectRefused(await post(foreignCert), /UNKNOWN_CA|ECONNRESET/);
    expectServed(await post(apiserverCert));
  });

  it("trusts a swapped CA for new connections, and a bundle of old and new during a CA rotation", async () => {
    // Concatenated as `cat old.crt new.crt` does with files lacking a final newline.
    server.updateClientCa(validateClientCa(`${clientCa.certPem}${otherCa.certPem}`, "bundle"));
    expectServed(await post(apiserverCert));
    expectServed(await post(foreignCert));
    server.updateClientCa(otherCa.certPem);
    expectRefused(await post(apiserverCert), /UNKNOWN_CA|ECONNRESET/);
    expectServed(await post(foreignCert));
    server.updateClientCa(clientCa.certPem);
    expectServed(await post(apiserverCert));
  });
});

describe("the client CA file", () => {
  it("is reloaded when it changes; an invalid replacement is reported and the current CA stays", async () => {
    const file = path.join(workDir, "watched-ca.crt");
    await writeFile(file, clientCa.certPem);
    const applied: string[] = [];
    const errors: unknown[] = [];
    const stop = watchClientCa(
      file,
      await readClientCa(file),
      (pem) => applied.push(pem),
      (error) => errors.push(error),
      20,
    );
    try {
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(applied).toEqual([]);
      await writeFile(file, "not a certificate\n");
      await until(() => errors.length > 0);
      expect(String(errors[0])).toMatch(/holds no PEM certificate/);
      expect(applied).toEqual([]);
      await writeFile(file, otherCa.certPem);
      await until(() => applied.length > 0);
      expect(applied).toEqual([validateClientCa(otherCa.certPem, file)]);
    } finally {
      stop();
    }
  });

  it("must hold CA certificates: a missing file, no PEM or a leaf certificate stops start-up", async () => {
    await expect(readClientCa(path.join(workDir, "absent.crt"))).rejects.toThrow(/reading the webhook client CA/);
    const leaf = path.join(workDir, "leaf.crt");
    await writeFile(leaf, apiserverCert.certPem);
    await expect(readClientCa(leaf)).rejects.toThrow(/is not a CA certificate/);
    const empty = path.join(workDir, "empty.crt");
    await writeFile(empty, "");
    await expect(readClientCa(empty)).rejects.toThrow(/holds no PEM certificate/);
  });
});

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
