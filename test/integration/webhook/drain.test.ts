// A replica being replaced keeps answering admissions until the API server stops sending them,
// and tells it not to reuse the connection: closing a keep-alive connection the API server has
// just written a review on resets it, and that admission fails (failurePolicy: Fail).
import { Agent, request as httpsRequest } from "node:https";
import { afterEach, describe, expect, it } from "vitest";
import { createCertificateAuthority, issueServingCertificate } from "../../../src/tls/certificates.js";
import { allow } from "../../../src/webhook/admission-review.js";
import { WebhookServer } from "../../../src/webhook/server.js";

const review = JSON.stringify({
  apiVersion: "admission.k8s.io/v1",
  kind: "AdmissionReview",
  request: {
    uid: "u1",
    kind: { group: "apps", version: "v1", kind: "Deployment" },
    resource: { group: "apps", version: "v1", resource: "deployments" },
    operation: "CREATE",
    userInfo: { username: "dev" },
  },
});

let server: WebhookServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start(): Promise<{ port: number; ca: string }> {
  const authority = await createCertificateAuthority();
  const serving = await issueServingCertificate(authority, ["127.0.0.1"]);
  server = new WebhookServer({
    host: "127.0.0.1",
    port: 0,
    tls: { key: serving.keyPem, cert: serving.certPem },
    handler: (request) => Promise.resolve(allow(request.uid)),
    logger: { error: () => undefined },
  });
  return { port: await server.listen(), ca: authority.certPem };
}

function post(
  port: number,
  ca: string,
  agent: Agent,
): Promise<{ status: number; connection: string | undefined; reused: boolean }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: "127.0.0.1",
        port,
        path: "/validate",
        method: "POST",
        ca,
        agent,
        headers: { "content-type": "application/json" },
      },
      (res) => {
        res.resume();
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, reused: req.reusedSocket }),
        );
      },
    );
    req.on("error", reject);
    req.end(review);
  });
}

describe("draining the webhook server", () => {
  it("keeps answering, asks every client to close its connection, and finishes once admissions stop arriving", async () => {
    const { port, ca } = await start();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const before = await post(port, ca, agent);
      expect(before).toMatchObject({ status: 200, connection: "keep-alive" });

      const started = Date.now();
      let drainedAt = 0;
      const drained = server?.drain({ quietMs: 400, maxMs: 5000 }).then(() => (drainedAt = Date.now()));
      // Admissions keep coming for a while (the API server has not seen the endpoint go yet).
      const during: Awaited<ReturnType<typeof post>>[] = [];
      let lastAt = 0;
      for (let i = 0; i < 5; i++) {
        during.push(await post(port, ca, agent));
        lastAt = Date.now();
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await drained;
      expect(during.every((response) => response.status === 200 && response.connection === "close")).toBe(true);
      // Each answer closed its connection: the next request opened a new one.
      expect(during.slice(1).every((response) => !response.reused)).toBe(true);
      expect(drainedAt - lastAt).toBeGreaterThanOrEqual(380);
      expect(drainedAt - started).toBeLessThan(5000);
    } finally {
      agent.destroy();
    }
  });

  it("gives up waiting after maxMs when admissions never stop", async () => {
    const { port, ca } = await start();
    const agent = new Agent({ keepAlive: true });
    let stop = false;
    const load = (async () => {
      while (!stop) await post(port, ca, agent);
    })();
    try {
      const started = Date.now();
      await server?.drain({ quietMs: 400, maxMs: 1000 });
      const took = Date.now() - started;
      expect(took).toBeGreaterThanOrEqual(1000);
      expect(took).toBeLessThan(2500);
    } finally {
      stop = true;
      await load;
      agent.destroy();
    }
  });
});
