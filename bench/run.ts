// `npm run bench`: every benchmark, progress on stderr, and one JSON object on the last line of
// stdout with each figure beside the baseline measured in the same run. Exits non-zero when a
// part crashes (its entry then holds `error`); missed targets only show in `targetsMet`.
// Environment: DATABASE_URL (loopback PostgreSQL; `bash scripts/services.sh up` is tried when
// it is unset and nothing answers), AEGIS_BENCH_SECONDS (webhook, default 10 per server),
// AEGIS_SOAK_SECONDS (default 120), AEGIS_SOAK_EVIDENCE (memory | pglite | postgres).
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { promisify } from "node:util";
import pg from "pg";
import { benchAudit, type AuditBenchResult } from "./audit.bench.js";
import { benchControllers, type ControllersBenchResult } from "./controllers.bench.js";
import { benchEvidence, type EvidenceBenchResult } from "./evidence.bench.js";
import { round } from "./lib/load.js";
import { adminDatabaseUrl, assertLoopback } from "./lib/scratch-db.js";
import { benchPolicyScaling, type PolicyScalingResult } from "./policies.bench.js";
import { benchRisk, type RiskBenchResult } from "./risk.bench.js";
import { benchSoak, type SoakBenchResult } from "./soak.bench.js";
import { benchWebhook, type WebhookBenchResult } from "./webhook.bench.js";

// The performance issue's targets (#16); the README's table reports which a run met.
const TARGETS = {
  webhookRatioAtLeast: 0.5,
  p99At200RpsMsAtMost: 10,
  postgresP99At200RpsMsAtMost: 3,
  pgliteP99At200RpsMsAtMost: 10,
  postgresRatioAtLeast: 0.4,
  rssMiBAtLoadBelow: 200,
  rssMiBWith10kRequestsAtMost: 160,
  soakRssMiBAtMost: 160,
  verifyPerSecAtLeast: 200_000,
  appendPerSecAtLeast: 15_000,
  policyScaling1000To10AtMost: 3,
  soakErrors: 0,
  auditObjectsPerSecAtLeast: 2_000,
  auditRssGrowthMiBAtMost: 40,
  riskBrierRatioToTruthAtMost: 1.1,
} as const;

type Part<T> = T | { error: string };

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

async function timedPart<T>(name: string, run: () => Promise<T>): Promise<Part<T>> {
  const started = performance.now();
  log(`bench: ${name} …`);
  try {
    const result = await run();
    log(`bench: ${name} done in ${round((performance.now() - started) / 1000, 1)} s`);
    return result;
  } catch (error) {
    log(`bench: ${name} FAILED: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

async function canConnect(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Makes sure DATABASE_URL points at a reachable loopback PostgreSQL, starting it if needed. */
async function ensureDatabase(): Promise<void> {
  const url = adminDatabaseUrl();
  assertLoopback(url);
  if (await canConnect(url)) return;
  if (process.env.DATABASE_URL !== undefined || !existsSync("scripts/services.sh")) {
    throw new Error(`PostgreSQL at ${new URL(url).host} does not answer; run npm run services:up`);
  }
  log("bench: PostgreSQL does not answer; running scripts/services.sh up");
  const { stdout } = await promisify(execFile)("bash", ["scripts/services.sh", "up"], { timeout: 300_000 });
  const line = stdout.split("\n").find((text) => text.startsWith("DATABASE_URL="));
  if (line) process.env.DATABASE_URL = line.slice("DATABASE_URL=".length).trim();
  if (!(await canConnect(adminDatabaseUrl())))
    throw new Error("PostgreSQL still does not answer after scripts/services.sh up");
}

function isOk<T extends object>(part: Part<T>): part is T {
  return !("error" in part);
}

interface Parts {
  webhook: Part<WebhookBenchResult>;
  evidence: Part<EvidenceBenchResult>;
  policies: Part<PolicyScalingResult>;
  controllers: Part<ControllersBenchResult>;
  soak: Part<SoakBenchResult>;
  audit: Part<AuditBenchResult>;
  risk: Part<RiskBenchResult>;
}

function targetsMet({ webhook, evidence, policies, controllers, soak, audit, risk }: Parts): Record<string, boolean> {
  const ledger = isOk(webhook) ? webhook.withLedger : {};
  const servers = isOk(webhook) ? [webhook.rssMiBAtLoad, ...Object.values(ledger).map((f) => f.rssMiBAtLoad)] : [];
  return {
    webhookRatio: isOk(webhook) && webhook.ratio >= TARGETS.webhookRatioAtLeast,
    webhookP99At200Rps: isOk(webhook) && webhook.p99At200RpsMs <= TARGETS.p99At200RpsMsAtMost,
    postgresP99At200Rps: (ledger.postgres?.p99At200RpsMs ?? Infinity) <= TARGETS.postgresP99At200RpsMsAtMost,
    pgliteP99At200Rps: (ledger.pglite?.p99At200RpsMs ?? Infinity) <= TARGETS.pgliteP99At200RpsMsAtMost,
    postgresRatio: (ledger.postgres?.ratio ?? 0) >= TARGETS.postgresRatioAtLeast,
    rssAtLoad: servers.length > 0 && servers.every((rss) => rss < TARGETS.rssMiBAtLoadBelow),
    controllersRss: isOk(controllers) && controllers.rssMiBWith10kRequests <= TARGETS.rssMiBWith10kRequestsAtMost,
    soakRss: isOk(soak) && Math.max(soak.rssEndMiB, ...soak.rssTraceMiB) <= TARGETS.soakRssMiBAtMost,
    verifyThroughput: isOk(evidence) && evidence.verifyPerSec >= TARGETS.verifyPerSecAtLeast,
    appendThroughput: isOk(evidence) && evidence.appendPerSec >= TARGETS.appendPerSecAtLeast,
    policyScaling: isOk(policies) && policies.ratio1000To10 <= TARGETS.policyScaling1000To10AtMost,
    soakErrors: isOk(soak) && soak.errors === TARGETS.soakErrors,
    auditThroughput: isOk(audit) && audit.objectsPerSec >= TARGETS.auditObjectsPerSecAtLeast,
    auditMemory: isOk(audit) && audit.rssGrowthMiB <= TARGETS.auditRssGrowthMiBAtMost,
    auditUnchangedWritesNothing: isOk(audit) && audit.unchangedWrites === 0,
    riskTrainedBeatsInitial: isOk(risk) && (risk.trained.brier ?? 1) < (risk.initial.brier ?? 0),
    riskCalibratedNearTruth: isOk(risk) && risk.brierRatioToTruth <= TARGETS.riskBrierRatioToTruthAtMost,
    riskAutoApprovePrecisionNotWorse:
      isOk(risk) && (risk.trained.precision ?? 0) >= (risk.initial.precision ?? Number.POSITIVE_INFINITY),
  };
}

async function main(): Promise<void> {
  const started = performance.now();
  const loadAvgStart = loadavg().map((value) => round(value, 2));
  const database = await timedPart("PostgreSQL", async () => {
    await ensureDatabase();
    return {};
  });
  const webhook = await timedPart("webhook", () => benchWebhook({ log }));
  const soak = await timedPart("soak", () => benchSoak({ log }));
  const evidence: Part<EvidenceBenchResult> = isOk(database)
    ? await timedPart("evidence", () => benchEvidence())
    : database;
  if (isOk(evidence)) log(`evidence: ${JSON.stringify(evidence)}`);
  const controllers = await timedPart("controllers", () => benchControllers({ log }));
  const audit = await timedPart("audit", () => benchAudit({ log }));
  const risk = await timedPart("risk calibration", () => Promise.resolve(benchRisk()));
  const policies = await timedPart("policy scaling", () => Promise.resolve(benchPolicyScaling()));
  const parts: Parts = { webhook, evidence, policies, controllers, soak, audit, risk };
  const summary = {
    ...parts,
    targetsMet: targetsMet(parts),
    targets: TARGETS,
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? "unknown",
      memoryMiB: Math.round(totalmem() / 1024 / 1024),
      node: process.version,
      platform: `${process.platform}/${process.arch}`,
      loadAvgStart,
      loadAvgEnd: loadavg().map((value) => round(value, 2)),
      seconds: round((performance.now() - started) / 1000, 1),
    },
  };
  const crashed = Object.values(parts).some((part) => !isOk(part));
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exitCode = crashed ? 1 : 0;
}

main().catch((error: unknown) => {
  log(`bench: crashed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
