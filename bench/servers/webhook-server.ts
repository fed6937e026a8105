// Child process for the webhook and soak benchmarks, started by the driver with
// `node --import tsx --expose-gc` and an IPC channel, so the load generator does not share
// its event loop. BENCH_SERVER_MODE=aegis serves the real WebhookServer + createAdmissionHandler
// over in-memory ports; BENCH_SERVER_MODE=baseline serves a no-op AdmissionReview endpoint
// (node:https, parses the JSON, answers allowed) on the same certificate.
import { generateSigningKey } from "../../src/evidence/chain/signing.js";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openEvidenceLedger } from "../../src/wiring/ledger.js";
import type { EvidenceLedger } from "../../src/evidence/ledger.js";
import { AegisMetrics } from "../../src/observability/metrics.js";
import type { EvidenceRecorder } from "../../src/ports/evidence.js";
import { admissionReviewSchema } from "../../src/webhook/admission-review.js";
import { createAdmissionHandler, type AdmissionHandler } from "../../src/webhook/handler.js";
import { WebhookServer } from "../../src/webhook/server.js";
import {
  AEGIS_USERNAME,
  benchApprovalRequests,
  benchPolicies,
  EXPECTED_ALLOWED,
  namespaceLabels,
  reviewTemplate,
  type ReviewKind,
} from "../lib/fixtures.js";
import { MemoryApprovalRequests, MemoryEvidence, MemoryPolicySource } from "../../test/fakes/memory-ports.js";
import {
  evidenceDescription,
  isParentMessage,
  type ChildMessage,
  type EvidenceMode,
  type ProcessSample,
} from "../lib/protocol.js";

interface Running {
  port: number;
  detail: Record<string, unknown>;
  counters: () => Pick<ProcessSample, "evidenceRecords" | "createdRequests">;
  close: () => Promise<void>;
}

function send(message: ChildMessage): void {
  process.send?.(message);
}

function tls(): { key: string; cert: string } {
  const key = process.env.BENCH_TLS_KEY;
  const cert = process.env.BENCH_TLS_CERT;
  if (!key || !cert) throw new Error("BENCH_TLS_KEY and BENCH_TLS_CERT must be set");
  return { key, cert };
}

async function startBaseline(): Promise<Running> {
  const server: Server = createServer({ ...tls(), minVersion: "TLSv1.2" }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const review = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { request?: { uid?: string } };
      const text = JSON.stringify({
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        response: { uid: review.request?.uid ?? "", allowed: true },
      });
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.end(text);
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    detail: { server: "node:https no-op: JSON.parse + allowed" },
    counters: () => ({ evidenceRecords: 0, createdRequests: 0 }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function openEvidence(
  mode: EvidenceMode,
): Promise<{ recorder: EvidenceRecorder; count: () => number; close: () => Promise<void> }> {
  if (mode === "memory") {
    const recorder = new MemoryEvidence({ keep: 1000 });
    return { recorder, count: () => recorder.recorded, close: () => Promise.resolve() };
  }
  const dataDir = await mkdtemp(join(tmpdir(), "aegis-bench-webhook-"));
  const databaseUrl = mode === "postgres" ? process.env.BENCH_DATABASE_URL : undefined;
  if (mode === "postgres" && !databaseUrl) throw new Error("BENCH_DATABASE_URL must be set for evidence mode postgres");
  const ledger: EvidenceLedger = await openEvidenceLedger({ dataDir, databaseUrl });
  let recorded = 0;
  const recorder: EvidenceRecorder = {
    record: async (event) => {
      await ledger.record(event);
      recorded += 1;
    },
  };
  return {
    recorder,
    count: () => recorded,
    close: async () => {
      await ledger.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs each kind of review through the handler once and checks the hot path really ran. */
async function selfCheck(handler: AdmissionHandler): Promise<void> {
  const kinds: ReviewKind[] = ["approved-update", "scale", "untrusted-image", "unapproved-update"];
  for (const kind of kinds) {
    const template = reviewTemplate(kind);
    const review = admissionReviewSchema.parse(JSON.parse(`${template.prefix}self-check-${kind}${template.suffix}`));
    const response = await handler(review.request);
    if (response.allowed !== EXPECTED_ALLOWED[kind]) {
      throw new Error(`self-check: ${kind} answered allowed=${response.allowed}: ${response.status?.message ?? ""}`);
    }
    const decision = response.auditAnnotations?.["aegis.valina.ai/decision"];
    if (kind === "approved-update" && decision !== "approved") {
      throw new Error(
        `self-check: the approved update was not admitted through its ApprovalRequest (decision ${decision ?? "none"})`,
      );
    }
  }
}

async function startAegis(mode: EvidenceMode): Promise<Running> {
  const now = (): Date => new Date();
  const policies = new MemoryPolicySource(benchPolicies());
  const broken = policies.list().find((entry) => entry.compileError !== undefined);
  if (broken) throw new Error(`bench policy ${broken.policy.metadata.name ?? "?"}: ${broken.compileError ?? ""}`);
  const approvals = new MemoryApprovalRequests(benchApprovalRequests(now(), 200), now);
  const evidence = await openEvidence(mode);
  const handler = createAdmissionHandler({
    policies,
    evidencePublicKey: generateSigningKey().publicKey,
    namespaceLabels,
    approvalRequests: approvals,
    // As main.ts: the cache's namespace index, so per-namespace lookups are not a scan per review.
    approvalsIn: (namespace) => approvals.inNamespace(namespace),
    requestWriter: approvals,
    slackMappingReviewer: { mayActAs: () => Promise.resolve(false) },
    evidence: evidence.recorder,
    now,
    aegisUsername: AEGIS_USERNAME,
    aegisNamespace: "aegis-system",
    extraApprovals: () => 0,
  });
  await selfCheck(handler);
  const metrics = new AegisMetrics();
  let errors = 0;
  const webhook = new WebhookServer({
    host: "127.0.0.1",
    // Replicas behind one port (the bench's scaling figure): the second listens where the first does.
    port: Number(process.env.BENCH_PORT ?? 0),
    reusePort: process.env.BENCH_REUSE_PORT === "1",
    tls: tls(),
    handler: (request) => handler(request),
    logger: {
      error: (fields, message) => {
        errors += 1;
        if (errors <= 5) process.stderr.write(`webhook error: ${message} ${String(fields.err)}\n`);
      },
    },
    onOutcome: (outcome) => {
      metrics.admissions.inc({
        kind: outcome.kind,
        decision: outcome.error ? "error" : outcome.allowed ? "allowed" : "denied",
      });
      metrics.admissionDuration.observe({ kind: outcome.kind }, outcome.durationMs / 1000);
    },
  });
  const port = await webhook.listen();
  return {
    port,
    detail: {
      server: "WebhookServer + createAdmissionHandler",
      policies: policies.compiled().length,
      approvalRequests: approvals.list().length,
      evidence: evidenceDescription(mode),
    },
    counters: () => ({ evidenceRecords: evidence.count(), createdRequests: approvals.created }),
    close: async () => {
      await webhook.close();
      await evidence.close();
    },
  };
}

function sample(running: Running, gc: boolean): ProcessSample {
  if (gc) {
    const collect = (globalThis as { gc?: () => void }).gc;
    collect?.();
    collect?.();
  }
  const memory = process.memoryUsage();
  const cpu = process.cpuUsage();
  return { rss: memory.rss, heapUsed: memory.heapUsed, cpuMicros: cpu.user + cpu.system, ...running.counters() };
}

function parseEvidenceMode(value: string | undefined): EvidenceMode {
  if (value === "memory" || value === "pglite" || value === "postgres") return value;
  throw new Error(`BENCH_EVIDENCE must be memory, pglite or postgres, got ${String(value)}`);
}

async function main(): Promise<void> {
  const mode = process.env.BENCH_SERVER_MODE === "baseline" ? "baseline" : "aegis";
  const evidenceMode = parseEvidenceMode(process.env.BENCH_EVIDENCE);
  const running = mode === "baseline" ? await startBaseline() : await startAegis(evidenceMode);
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    running.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("message", (message: unknown) => {
    if (!isParentMessage(message)) return;
    if (message.type === "stop") stop();
    else send({ type: "sample", id: message.id, sample: sample(running, message.gc) });
  });
  process.on("disconnect", stop);
  send({ type: "ready", port: running.port, detail: running.detail });
}

main().catch((error: unknown) => {
  send({ type: "error", message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exitCode = 1;
  setTimeout(() => process.exit(1), 100).unref();
});
