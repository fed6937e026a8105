// A bounded soak: AEGIS_SOAK_SECONDS (default 120) at 200 AdmissionReviews/s, open loop, through
// the real WebhookServer + createAdmissionHandler in a child process, with the real
// EvidenceLedger on PostgreSQL (a scratch database; AEGIS_SOAK_EVIDENCE=memory|pglite|postgres
// changes that). A mix of reviews: approved image updates, scale-only updates, an untrusted
// image (denied by checks) and an unapproved image (denied, needs approval); every response is
// parsed and its uid and `allowed` compared with the expectation. Server RSS is sampled after a
// full GC once warmed up, halfway and at the end. Baseline, at the same time and rate: the no-op
// node:https AdmissionReview server.
import { benchTls, ServerProcess } from "./lib/child.js";
import { reviewTemplate, type ReviewKind } from "./lib/fixtures.js";
import { LoadClient, openLoop, Recorder, round } from "./lib/load.js";
import { evidenceDescription, type EvidenceMode, type ProcessSample } from "./lib/protocol.js";
import { withScratchDatabase } from "./lib/scratch-db.js";

export interface SoakBenchOptions {
  seconds?: number;
  rate?: number;
  evidence?: EvidenceMode;
  log?: (line: string) => void;
}

export interface SoakBenchResult {
  requests: number;
  errors: number;
  rssGrowthMiB: number;
  baselineRequests: number;
  baselineErrors: number;
  baselineRssGrowthMiB: number;
  /** Growth over the second half only (GC'd samples): near 0 when the first half was warm-up, not a leak. */
  rssGrowthSecondHalfMiB: number;
  rssStartMiB: number;
  rssEndMiB: number;
  heapGrowthMiB: number;
  /** RSS every ~15 s without forcing a GC. */
  rssTraceMiB: number[];
  p50Ms: number;
  p99Ms: number;
  baselineP99Ms: number;
  achievedRps: number;
  seconds: number;
  rate: number;
  evidence: string;
  evidenceRecords: number;
  approvalRequestsCreated: number;
  firstErrors: string[];
}

const WARM_UP_SECONDS = 10;
const TRACE_EVERY_MS = 15_000;
const MiB = 1024 * 1024;
const MIX: ReviewKind[] = [
  "approved-update",
  "approved-update",
  "approved-update",
  "approved-update",
  "approved-update",
  "approved-update",
  "approved-update",
  "scale",
  "untrusted-image",
  "unapproved-update",
];

function parseEvidence(value: string | undefined): EvidenceMode {
  if (value === undefined || value === "") return "postgres";
  if (value === "memory" || value === "pglite" || value === "postgres") return value;
  throw new Error(`AEGIS_SOAK_EVIDENCE must be memory, pglite or postgres, got ${value}`);
}

async function soak(databaseUrl: string, settings: Required<SoakBenchOptions>): Promise<SoakBenchResult> {
  const tls = await benchTls();
  const aegis = await ServerProcess.start("aegis", tls, settings.evidence, databaseUrl);
  const baseline = await ServerProcess.start("baseline", tls).catch(async (error: unknown) => {
    await aegis.stop();
    throw error;
  });
  const aegisClient = new LoadClient(
    { port: aegis.port, ca: tls.ca, templates: MIX.map(reviewTemplate), strict: true },
    256,
  );
  const baselineClient = new LoadClient(
    { port: baseline.port, ca: tls.ca, templates: [reviewTemplate("approved-update")], strict: true },
    256,
  );
  try {
    settings.log(
      `soak: aegis pid ${aegis.pid ?? "?"} (${settings.evidence} evidence), baseline pid ${baseline.pid ?? "?"}; warming up ${WARM_UP_SECONDS} s`,
    );
    await Promise.all([
      openLoop(aegisClient, settings.rate, WARM_UP_SECONDS * 1000),
      openLoop(baselineClient, settings.rate, WARM_UP_SECONDS * 1000),
    ]);
    const [aegisStart, baselineStart] = await Promise.all([aegis.sample(true), baseline.sample(true)]);
    settings.log(
      `soak: ${settings.seconds} s at ${settings.rate}/s each; aegis RSS at start ${round(aegisStart.rss / MiB, 1)} MiB`,
    );
    const recorder = new Recorder();
    const baselineRecorder = new Recorder();
    const trace: number[] = [round(aegisStart.rss / MiB, 1)];
    const tracer = setInterval(() => {
      aegis.sample(false).then(
        (sample) => trace.push(round(sample.rss / MiB, 1)),
        () => undefined,
      );
    }, TRACE_EVERY_MS);
    let midpoint: Promise<ProcessSample> | undefined;
    const halfway = setTimeout(
      () => {
        midpoint = aegis.sample(true);
      },
      (settings.seconds * 1000) / 2,
    );
    let seconds: number;
    try {
      [seconds] = await Promise.all([
        openLoop(aegisClient, settings.rate, settings.seconds * 1000, recorder),
        openLoop(baselineClient, settings.rate, settings.seconds * 1000, baselineRecorder),
      ]);
    } finally {
      clearInterval(tracer);
      clearTimeout(halfway);
    }
    const [aegisEnd, baselineEnd] = await Promise.all([aegis.sample(true), baseline.sample(true)]);
    trace.push(round(aegisEnd.rss / MiB, 1));
    const aegisMid = (await midpoint) ?? aegisStart;
    return summarize(
      { recorder, baselineRecorder, seconds, aegisStart, aegisMid, aegisEnd, baselineStart, baselineEnd, trace },
      settings,
    );
  } finally {
    aegisClient.close();
    baselineClient.close();
    await Promise.all([aegis.stop(), baseline.stop()]);
  }
}

interface SoakMeasurements {
  recorder: Recorder;
  baselineRecorder: Recorder;
  seconds: number;
  aegisStart: ProcessSample;
  aegisMid: ProcessSample;
  aegisEnd: ProcessSample;
  baselineStart: ProcessSample;
  baselineEnd: ProcessSample;
  trace: number[];
}

function summarize(m: SoakMeasurements, settings: Required<SoakBenchOptions>): SoakBenchResult {
  const summary = m.recorder.summary(m.seconds);
  const baselineSummary = m.baselineRecorder.summary(m.seconds);
  const result: SoakBenchResult = {
    requests: summary.requests,
    errors: summary.errors,
    rssGrowthMiB: round((m.aegisEnd.rss - m.aegisStart.rss) / MiB, 1),
    baselineRequests: baselineSummary.requests,
    baselineErrors: baselineSummary.errors,
    baselineRssGrowthMiB: round((m.baselineEnd.rss - m.baselineStart.rss) / MiB, 1),
    rssGrowthSecondHalfMiB: round((m.aegisEnd.rss - m.aegisMid.rss) / MiB, 1),
    rssStartMiB: round(m.aegisStart.rss / MiB, 1),
    rssEndMiB: round(m.aegisEnd.rss / MiB, 1),
    heapGrowthMiB: round((m.aegisEnd.heapUsed - m.aegisStart.heapUsed) / MiB, 1),
    rssTraceMiB: m.trace,
    p50Ms: summary.p50Ms,
    p99Ms: summary.p99Ms,
    baselineP99Ms: baselineSummary.p99Ms,
    achievedRps: round(summary.requests / m.seconds, 1),
    seconds: settings.seconds,
    rate: settings.rate,
    evidence: evidenceDescription(settings.evidence),
    evidenceRecords: m.aegisEnd.evidenceRecords - m.aegisStart.evidenceRecords,
    approvalRequestsCreated: m.aegisEnd.createdRequests,
    firstErrors: m.recorder.firstErrors,
  };
  settings.log(
    `soak: ${result.requests} requests, ${result.errors} errors (baseline ${result.baselineErrors}); RSS ${result.rssStartMiB} → ${result.rssEndMiB} MiB (growth ${result.rssGrowthMiB}, second half ${result.rssGrowthSecondHalfMiB}, baseline ${result.baselineRssGrowthMiB}); p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms`,
  );
  return result;
}

export async function benchSoak(options: SoakBenchOptions = {}): Promise<SoakBenchResult> {
  const settings: Required<SoakBenchOptions> = {
    seconds: options.seconds ?? Number(process.env.AEGIS_SOAK_SECONDS ?? 120),
    rate: options.rate ?? 200,
    evidence: options.evidence ?? parseEvidence(process.env.AEGIS_SOAK_EVIDENCE),
    log: options.log ?? ((line: string) => process.stderr.write(`${line}\n`)),
  };
  if (!(settings.seconds > 0))
    throw new Error(`AEGIS_SOAK_SECONDS must be a positive number, got ${String(process.env.AEGIS_SOAK_SECONDS)}`);
  if (settings.evidence === "postgres") return withScratchDatabase((url) => soak(url, settings));
  return soak("", settings);
}
