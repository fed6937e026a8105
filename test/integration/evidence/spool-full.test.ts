// Evidence never lives only in memory: PostgreSQL unreachable (a closed port on 127.0.0.1) and
// the data dir on a full tmpfs, so the spool cannot be written either. record() rejects naming
// the spool file and the error, the failure is counted, and a webhook that records before it
// answers (as the gate does) denies the admission. Needs root for `mount -t tmpfs` (skipped
// otherwise); the tmpfs is unmounted afterwards.
import { execFile } from "node:child_process";
import { mkdtemp, open, rm } from "node:fs/promises";
import { request as httpsRequest } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSigningKey } from "../../../src/evidence/chain/signing.js";
import type { EvidenceLedger } from "../../../src/evidence/ledger.js";
import { AegisMetrics } from "../../../src/observability/metrics.js";
import { createCertificateAuthority, issueServingCertificate } from "../../../src/tls/certificates.js";
import { allow } from "../../../src/webhook/admission-review.js";
import { WebhookServer } from "../../../src/webhook/server.js";
import { createEvidenceLedger, SPOOL_FILE_NAME } from "../../../src/wiring/ledger.js";
import { event, pgDatabase } from "./helpers.js";

const run = promisify(execFile);

/** A port on 127.0.0.1 nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}

async function mountTinyTmpfs(dir: string): Promise<boolean> {
  if (process.getuid?.() !== 0) return false;
  try {
    await run("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", dir]);
    return true;
  } catch (err) {
    console.warn(`skipping the full-spool test: cannot mount a tmpfs: ${String(err)}`);
    return false;
  }
}

/** Writes a filler file until the file system is full (ENOSPC). */
async function fill(dir: string): Promise<void> {
  const file = await open(join(dir, "filler"), "w");
  const chunk = Buffer.alloc(4096, 0x61);
  try {
    for (;;) await file.write(chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOSPC") throw err;
  } finally {
    await file.close();
  }
}

let root = "";
let mounted = false;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "aegis-spool-full-"));
  mounted = await mountTinyTmpfs(root);
});

afterAll(async () => {
  if (mounted) await run("umount", [root]);
  await rm(root, { recursive: true, force: true });
});

describe("a record neither the database nor the spool takes", () => {
  let ledger: EvidenceLedger | undefined;
  afterAll(async () => {
    await ledger?.close();
  });

  it("rejects naming the spool and the error, is counted, and the webhook denies", async (context) => {
    if (!mounted) context.skip();
    const url = `postgres://aegis:aegis@127.0.0.1:${await closedPort()}/aegis`;
    // Starts with the database unreachable (spools until it can migrate) and an empty spool file.
    ledger = await createEvidenceLedger(pgDatabase(url, { connectTimeoutMs: 500 }), generateSigningKey(), {
      dataDir: root,
      closeDatabase: true,
    });
    await fill(root);
    const spoolPath = join(root, SPOOL_FILE_NAME);

    await expect(ledger.record({ ...event(1), id: "full-1" })).rejects.toThrow(
      new RegExp(`evidence spool ${spoolPath}: cannot write 1 records: .*ENOSPC`),
    );
    expect(ledger.metrics).toMatchObject({
      spoolDepth: 0, // not held in memory either
      spoolWriteFailuresTotal: 1,
      rejectedTotal: 1,
      databaseReachable: false,
    });
    const metrics = new AegisMetrics({ defaultMetrics: false });
    const current = ledger;
    metrics.observeEvidence(() => current.metrics);
    expect(await metrics.registry.metrics()).toContain("aegis_evidence_spool_write_failures_total 1");

    // The gate records its decision before it answers: a rejected record is a denial.
    const authority = await createCertificateAuthority();
    const serving = await issueServingCertificate(authority, ["127.0.0.1"]);
    const server = new WebhookServer({
      host: "127.0.0.1",
      port: 0,
      tls: { key: serving.keyPem, cert: serving.certPem },
      handler: async (request) => {
        await current.record({ ...event(2), id: `decision-${request.uid}` });
        return allow(request.uid);
      },
      logger: { error: () => undefined },
    });
    const port = await server.listen();
    try {
      const body = JSON.stringify({
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        request: {
          uid: "u-full",
          kind: { group: "apps", version: "v1", kind: "Deployment" },
          resource: { group: "apps", version: "v1", resource: "deployments" },
          operation: "CREATE",
          userInfo: { username: "dev" },
        },
      });
      const answer = await new Promise<string>((resolve, reject) => {
        const req = httpsRequest(
          {
            host: "127.0.0.1",
            port,
            path: "/validate",
            method: "POST",
            ca: authority.certPem,
            headers: { "content-type": "application/json" },
          },
          (res) => {
            let text = "";
            res.on("data", (chunk: Buffer) => (text += chunk.toString()));
            res.on("end", () => resolve(text));
          },
        );
        req.on("error", reject);
        req.end(body);
      });
      const response = (JSON.parse(answer) as { response: { allowed: boolean; status: { message: string } } }).response;
      expect(response.allowed).toBe(false);
      expect(response.status.message).toContain(`evidence spool ${spoolPath}: cannot write 1 records`);
      expect(response.status.message).toContain("ENOSPC");
    } finally {
      await server.close();
    }
    expect(ledger.metrics).toMatchObject({ spoolDepth: 0, spoolWriteFailuresTotal: 2, rejectedTotal: 2 });
  }, 30_000);
});
