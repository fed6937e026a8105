import { request as httpsRequest } from "node:https";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { createCertificateAuthority, issueServingCertificate } from "../../../src/tls/certificates.js";
import { allow } from "../../../src/webhook/admission-review.js";
import { MAX_ADMISSION_BODY_BYTES, WebhookServer } from "../../../src/webhook/server.js";

let server: WebhookServer;
let port = 0;
let ca = "";
const errors: unknown[] = [];

function post(
  body: string | Buffer,
  headers: Record<string, string> = { "content-type": "application/json" },
  path = "/validate",
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: "127.0.0.1", port, path, method: "POST", ca, headers }, (res) => {
      let text = "";
      res.on("data", (chunk: Buffer) => (text += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

beforeAll(async () => {
  const authority = await createCertificateAuthority();
  const serving = await issueServingCertificate(authority, ["127.0.0.1"]);
  ca = authority.certPem;
  server = new WebhookServer({
    host: "127.0.0.1",
    port: 0,
    tls: { key: serving.keyPem, cert: serving.certPem },
    handler: (request) => {
      if (request.name === "explode") return Promise.reject(new Error("boom"));
      return Promise.resolve(allow(request.uid));
    },
    logger: { error: (fields) => errors.push(fields) },
  });
  port = await server.listen();
});

afterAll(async () => {
  await server.close();
});

const review = (request: Record<string, unknown>): string =>
  JSON.stringify({
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: "u1",
      kind: { group: "apps", version: "v1", kind: "Deployment" },
      resource: { group: "apps", version: "v1", resource: "deployments" },
      operation: "CREATE",
      userInfo: { username: "dev" },
      ...request,
    },
  });

describe("the webhook HTTPS server", () => {
  it("answers a valid AdmissionReview with its uid", async () => {
    const response = await post(review({}));
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: { uid: "u1", allowed: true },
    });
  });

  it("refuses bad input with a clear 4xx", async () => {
    expect((await post("{not json")).body).toMatch(/body is not JSON/);
    expect((await post("{not json")).status).toBe(400);
    const wrongKind = await post(JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "Pod" }));
    expect(wrongKind.status).toBe(400);
    expect(wrongKind.body).toMatch(/kind must be \\"AdmissionReview\\".*request/);
    expect((await post(review({}), { "content-type": "text/plain" })).status).toBe(415);
    expect((await post(review({}), undefined, "/other")).status).toBe(404);
    const huge = await post(Buffer.alloc(MAX_ADMISSION_BODY_BYTES + 10, 32));
    expect(huge.status).toBe(413);
  });

  it("accepts a 7 MiB UPDATE of two 3 MiB objects", async () => {
    const big = { metadata: { annotations: { blob: "x".repeat(3 * 1024 * 1024) } } };
    const response = await post(review({ operation: "UPDATE", object: big, oldObject: big }));
    expect(response.status).toBe(200);
  });

  it("turns a handler failure into a refusal with code 500, and keeps serving", async () => {
    const response = await post(review({ name: "explode" }));
    expect(JSON.parse(response.body)).toMatchObject({
      response: { uid: "u1", allowed: false, status: { code: 500, message: "aegis: internal error: boom" } },
    });
    expect(errors.length).toBeGreaterThan(0);
    expect((await post(review({}))).status).toBe(200);
  });

  it("never crashes or hangs on random and hostile bodies", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.json(),
          fc
            .jsonValue()
            .map((value) =>
              JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: value }),
            ),
        ),
        async (body) => {
          const response = await post(body);
          expect([200, 400]).toContain(response.status);
        },
      ),
      { numRuns: 200 },
    );
    expect((await post(review({}))).status).toBe(200);
  });
});
