import { Agent, request as httpsRequest } from "node:https";
import { X509Certificate } from "node:crypto";
import { connect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createCertificateAuthority,
  issueServingCertificate,
  type CertificateAuthority,
} from "../../../src/tls/certificates.js";
import { CertificateRotator } from "../../../src/tls/rotation.js";
import { allow } from "../../../src/webhook/admission-review.js";
import { WebhookServer } from "../../../src/webhook/server.js";

let authority: CertificateAuthority;
let server: WebhookServer;
let port = 0;

const body = JSON.stringify({
  apiVersion: "admission.k8s.io/v1",
  kind: "AdmissionReview",
  request: {
    uid: "u",
    kind: { group: "", version: "v1", kind: "Pod" },
    resource: { group: "", version: "v1", resource: "pods" },
    operation: "CREATE",
    userInfo: { username: "dev" },
  },
});

function post(agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: "127.0.0.1",
        port,
        path: "/validate",
        method: "POST",
        ca: authority.certPem,
        agent,
        headers: { "content-type": "application/json" },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

function servedSerial(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: "127.0.0.1", port, ca: authority.certPem, checkServerIdentity: () => undefined },
      () => {
        const raw = socket.getPeerCertificate().raw;
        socket.end();
        resolve(new X509Certificate(raw).serialNumber);
      },
    );
    socket.on("error", reject);
  });
}

beforeAll(async () => {
  authority = await createCertificateAuthority();
  const first = await issueServingCertificate(authority, ["127.0.0.1"]);
  server = new WebhookServer({
    host: "127.0.0.1",
    port: 0,
    tls: { key: first.keyPem, cert: first.certPem },
    handler: (r) => Promise.resolve(allow(r.uid)),
    logger: { error: () => undefined },
  });
  port = await server.listen();
});

afterAll(async () => {
  await server.close();
});

describe("serving certificate rotation", () => {
  it("swaps the certificate while requests flow, dropping none", async () => {
    const before = await servedSerial();
    const rotator = new CertificateRotator({
      issue: () => issueServingCertificate(authority, ["127.0.0.1"]),
      target: server,
      onError: (error) => {
        throw error;
      },
    });
    const keepAlive = new Agent({ keepAlive: true, maxSockets: 8 });
    const fresh = new Agent({ keepAlive: false });
    let stop = false;
    const statuses: number[] = [];
    const failures: unknown[] = [];
    const load = Array.from({ length: 8 }, async (_, worker) => {
      while (!stop) {
        try {
          statuses.push(await post(worker % 2 === 0 ? keepAlive : fresh));
        } catch (error) {
          failures.push(error);
        }
      }
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (let i = 0; i < 3; i++) {
      await rotator.rotateNow();
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    stop = true;
    await Promise.all(load);
    keepAlive.destroy();
    expect(failures).toEqual([]);
    expect(statuses.length).toBeGreaterThan(50);
    expect(statuses.every((status) => status === 200)).toBe(true);
    expect(rotator.rotations).toBe(3);
    expect(await servedSerial()).not.toBe(before);
  });
});
