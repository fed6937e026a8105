// Webhook throughput and latency. Each server runs in its own child process (the load generator
// never shares its event loop):
// - baseline: a no-op node:https AdmissionReview server (parses the JSON, answers allowed);
// - aegis: the real WebhookServer + createAdmissionHandler with 20 compiled AegisPolicies and
//   in-memory caches, evidence into an in-memory recorder (the headline figures);
// - the same aegis server with the real EvidenceLedger on PGlite and on PostgreSQL (`withLedger`).
// Every request is the full hot path: an image UPDATE of a compliant Deployment whose change has
// an Approved ApprovalRequest (hash, evaluate, risk, approval lookup, evidence). The machine is
// shared, so servers are measured in interleaved rounds (baseline, aegis, … per round) and the
// rounds pooled: a load spike from elsewhere hits every server alike.
import { benchTls, ServerProcess, type TlsFixture } from "./lib/child.js";
import { reviewTemplate } from "./lib/fixtures.js";
import { closedLoop, LoadClient, openLoop, Recorder, round, type LatencySummary } from "./lib/load.js";
import { evidenceDescription, type EvidenceMode, type ProcessSample } from "./lib/protocol.js";
import { withScratchDatabase } from "./lib/scratch-db.js";

export interface WebhookBenchOptions {
  /** Closed-loop and open-loop measurement per server, seconds in total (default 10, env AEGIS_BENCH_SECONDS). */
  seconds?: number;
  rounds?: number;
  concurrency?: number;
  openLoopRps?: number;
  /** Also measured with the real EvidenceLedger, reported under `withLedger` (default pglite, postgres). */
  ledgerVariants?: readonly EvidenceMode[];
  /** Also measure one against two replicas behind one port (default true). */
  replicas?: boolean;
  log?: (line: string) => void;
}

export interface ServerFigures {
  rps: number;
  ratio: number;
  p50Ms: number;
  p99Ms: number;
  p50At200RpsMs: number;
  p99At200RpsMs: number;
  p999At200RpsMs: number;
  cpuMsPerRequest: number;
  /** Peak RSS of the server process sampled after each closed-loop round (full load). */
  rssMiBAtLoad: number;
  errors: number;
  evidence: string;
}

/** Webhook throughput with one and with two server processes behind one port (SO_REUSEPORT). */
export interface ReplicaFigures {
  oneReplicaRps: number;
  twoReplicasRps: number;
  /** twoReplicasRps / oneReplicaRps: how much of a second core the gate turns into throughput. */
  ratio: number;
  oneReplicaCpuMsPerRequest: number;
  twoReplicasCpuMsPerRequest: number;
  errors: number;
}

export interface WebhookBenchResult {
  rps: number;
  baselineRps: number;
  ratio: number;
  p50Ms: number;
  p99Ms: number;
  baselineP50Ms: number;
  baselineP99Ms: number;
  p99At200RpsMs: number;
  baselineP99At200RpsMs: number;
  p50At200RpsMs: number;
  baselineP50At200RpsMs: number;
  p999At200RpsMs: number;
  baselineP999At200RpsMs: number;
  /** p99 at 200 rps measured from each request's scheduled send time (client timer lag included). */
  p99At200RpsFromScheduleMs: number;
  /** Server CPU time per request during the closed-loop runs (ms): independent of the client. */
  cpuMsPerRequest: number;
  baselineCpuMsPerRequest: number;
  /** baselineCpuMsPerRequest / cpuMsPerRequest: the ratio a server-bound run would show (the client cannot cap it). */
  cpuRatio: number;
  rssMiBAtLoad: number;
  baselineRssMiBAtLoad: number;
  errors: number;
  baselineErrors: number;
  concurrency: number;
  seconds: number;
  rounds: number;
  openLoopRps: number;
  evidence: string;
  requestBytes: number;
  /** The same measurement with the real EvidenceLedger in the hot path. */
  withLedger: Partial<Record<EvidenceMode, ServerFigures>>;
  /** Measured separately, never folded into `ratio` (which is one process against one). */
  replicas?: ReplicaFigures;
}

const WARM_UP_MS = 3_000;
const MIB = 1024 * 1024;

/** What a Subject measures: one server process, or several behind one port. */
interface MeasuredServer {
  readonly port: number;
  sample(): Promise<ProcessSample>;
  stop(): Promise<void>;
}

/** Server processes sharing one port: CPU is their sum, RSS their sum. */
class ReplicaGroup implements MeasuredServer {
  constructor(private readonly servers: readonly ServerProcess[]) {}

  get port(): number {
    return this.servers[0]?.port ?? 0;
  }

  async sample(): Promise<ProcessSample> {
    const samples = await Promise.all(this.servers.map((server) => server.sample()));
    return samples.reduce((sum, next) => ({
      rss: sum.rss + next.rss,
      heapUsed: sum.heapUsed + next.heapUsed,
      cpuMicros: sum.cpuMicros + next.cpuMicros,
      evidenceRecords: sum.evidenceRecords + next.evidenceRecords,
      createdRequests: sum.createdRequests + next.createdRequests,
    }));
  }

  async stop(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.stop()));
  }
}

/** One server under test with its clients and pooled measurements. */
class Subject {
  readonly closed = new Recorder();
  readonly open = new Recorder();
  readonly openFromSchedule = new Recorder();
  closedSeconds = 0;
  openSeconds = 0;
  cpuMicros = 0;
  peakRss = 0;
  private readonly closedClient: LoadClient;
  private readonly openClient: LoadClient;

  constructor(
    readonly label: string,
    readonly server: MeasuredServer,
    tls: TlsFixture,
    private readonly concurrency: number,
  ) {
    const target = { port: server.port, ca: tls.ca, templates: [reviewTemplate("approved-update")] };
    this.closedClient = new LoadClient(target, concurrency);
    this.openClient = new LoadClient(target, 256);
  }

  async warmUp(rate: number): Promise<void> {
    await closedLoop(this.closedClient, this.concurrency, WARM_UP_MS);
    await openLoop(this.openClient, rate, 1_000);
  }

  async closedRound(ms: number): Promise<void> {
    const before = await this.server.sample();
    this.closedSeconds += await closedLoop(this.closedClient, this.concurrency, ms, this.closed);
    const after = await this.server.sample();
    this.cpuMicros += after.cpuMicros - before.cpuMicros;
    this.peakRss = Math.max(this.peakRss, after.rss);
  }

  rssMiBAtLoad(): number {
    return round(this.peakRss / MIB, 1);
  }

  async openRound(rate: number, ms: number): Promise<void> {
    this.openSeconds += await openLoop(this.openClient, rate, ms, this.open, this.openFromSchedule);
  }

  closedSummary(): LatencySummary {
    return this.closed.summary(this.closedSeconds);
  }

  openSummary(): LatencySummary {
    return this.open.summary(this.openSeconds);
  }

  cpuMsPerRequest(): number {
    return round(this.cpuMicros / 1000 / Math.max(1, this.closedSummary().requests), 3);
  }

  errors(): number {
    return this.closed.errors + this.open.errors;
  }

  firstErrors(): string[] {
    return [...this.closed.firstErrors, ...this.open.firstErrors];
  }

  async stop(): Promise<void> {
    this.closedClient.close();
    this.openClient.close();
    await this.server.stop();
  }
}

type Settings = Required<Omit<WebhookBenchOptions, "ledgerVariants" | "replicas">>;

async function startSubjects(
  tls: TlsFixture,
  variants: readonly EvidenceMode[],
  databaseUrl: string | undefined,
  settings: Settings,
): Promise<Subject[]> {
  const subjects: Subject[] = [];
  const add = async (label: string, start: () => Promise<ServerProcess>): Promise<void> => {
    const server = await start();
    settings.log(
      `webhook: ${label} server pid ${server.pid ?? "?"} on 127.0.0.1:${server.port} (${JSON.stringify(server.detail)})`,
    );
    subjects.push(new Subject(label, server, tls, settings.concurrency));
  };
  try {
    await add("baseline", () => ServerProcess.start("baseline", tls));
    await add("memory", () => ServerProcess.start("aegis", tls, "memory"));
    for (const variant of variants)
      await add(variant, () => ServerProcess.start("aegis", tls, variant, variant === "postgres" ? databaseUrl : ""));
  } catch (error) {
    await Promise.all(subjects.map((subject) => subject.stop()));
    throw error;
  }
  return subjects;
}

async function measureAll(subjects: readonly Subject[], settings: Settings): Promise<void> {
  for (const subject of subjects) await subject.warmUp(settings.openLoopRps);
  const sliceMs = (settings.seconds * 1000) / settings.rounds;
  for (let roundIndex = 0; roundIndex < settings.rounds; roundIndex++) {
    for (const subject of subjects) await subject.closedRound(sliceMs);
  }
  for (let roundIndex = 0; roundIndex < settings.rounds; roundIndex++) {
    for (const subject of subjects) await subject.openRound(settings.openLoopRps, sliceMs);
  }
  for (const subject of subjects) {
    const closed = subject.closedSummary();
    const open = subject.openSummary();
    settings.log(
      `webhook: ${subject.label}: ${closed.rps} rps at concurrency ${settings.concurrency} (p50 ${closed.p50Ms} ms, p99 ${closed.p99Ms} ms, ${subject.cpuMsPerRequest()} ms server CPU/request); ` +
        `open loop ${open.rps} rps: p50 ${open.p50Ms} ms, p99 ${open.p99Ms} ms; errors ${subject.errors()}`,
    );
    for (const error of subject.firstErrors()) settings.log(`webhook: ${subject.label} error: ${error}`);
  }
}

function figures(subject: Subject, baselineRps: number, evidence: EvidenceMode): ServerFigures {
  const closed = subject.closedSummary();
  return {
    rps: closed.rps,
    ratio: round(closed.rps / baselineRps, 3),
    p50Ms: closed.p50Ms,
    p99Ms: closed.p99Ms,
    p50At200RpsMs: subject.openSummary().p50Ms,
    p99At200RpsMs: subject.openSummary().p99Ms,
    p999At200RpsMs: subject.openSummary().p999Ms,
    cpuMsPerRequest: subject.cpuMsPerRequest(),
    rssMiBAtLoad: subject.rssMiBAtLoad(),
    errors: subject.errors(),
    evidence: evidenceDescription(evidence),
  };
}

function result(
  subjects: readonly Subject[],
  variants: readonly EvidenceMode[],
  settings: Settings,
): WebhookBenchResult {
  const [baseline, aegis] = subjects;
  if (!baseline || !aegis) throw new Error("webhook bench: servers missing");
  const base = baseline.closedSummary();
  const main = aegis.closedSummary();
  const withLedger: Partial<Record<EvidenceMode, ServerFigures>> = {};
  variants.forEach((variant, index) => {
    const subject = subjects[index + 2];
    if (subject) withLedger[variant] = figures(subject, base.rps, variant);
  });
  const template = reviewTemplate("approved-update");
  return {
    rps: main.rps,
    baselineRps: base.rps,
    ratio: round(main.rps / base.rps, 3),
    p50Ms: main.p50Ms,
    p99Ms: main.p99Ms,
    baselineP50Ms: base.p50Ms,
    baselineP99Ms: base.p99Ms,
    p99At200RpsMs: aegis.openSummary().p99Ms,
    baselineP99At200RpsMs: baseline.openSummary().p99Ms,
    p50At200RpsMs: aegis.openSummary().p50Ms,
    baselineP50At200RpsMs: baseline.openSummary().p50Ms,
    p999At200RpsMs: aegis.openSummary().p999Ms,
    baselineP999At200RpsMs: baseline.openSummary().p999Ms,
    p99At200RpsFromScheduleMs: aegis.openFromSchedule.summary(aegis.openSeconds).p99Ms,
    cpuMsPerRequest: aegis.cpuMsPerRequest(),
    baselineCpuMsPerRequest: baseline.cpuMsPerRequest(),
    cpuRatio: round(baseline.cpuMsPerRequest() / aegis.cpuMsPerRequest(), 3),
    rssMiBAtLoad: aegis.rssMiBAtLoad(),
    baselineRssMiBAtLoad: baseline.rssMiBAtLoad(),
    errors: aegis.errors(),
    baselineErrors: baseline.errors(),
    concurrency: settings.concurrency,
    seconds: settings.seconds,
    rounds: settings.rounds,
    openLoopRps: settings.openLoopRps,
    evidence: evidenceDescription("memory"),
    requestBytes: Buffer.byteLength(`${template.prefix}bench-1-1${template.suffix}`),
    withLedger,
  };
}

/**
 * One aegis server (memory evidence) against two on one port, in interleaved closed-loop rounds.
 * The load generator shares the machine's cores with them, as it does in the main measurement.
 */
async function measureReplicas(tls: TlsFixture, settings: Settings): Promise<ReplicaFigures> {
  const started: ServerProcess[] = [];
  const start = async (port = 0): Promise<ServerProcess> => {
    const server = await ServerProcess.start("aegis", tls, "memory", "", { port, reusePort: true });
    started.push(server);
    return server;
  };
  try {
    const single = await start();
    const first = await start();
    const second = await start(first.port);
    settings.log(
      `webhook: replicas: one on port ${single.port}, two (pids ${first.pid}, ${second.pid}) on ${first.port}`,
    );
    const one = new Subject("one replica", single, tls, settings.concurrency);
    const two = new Subject("two replicas", new ReplicaGroup([first, second]), tls, settings.concurrency);
    const subjects = [one, two];
    for (const subject of subjects) await subject.warmUp(settings.openLoopRps);
    const sliceMs = (settings.seconds * 1000) / settings.rounds;
    for (let roundIndex = 0; roundIndex < settings.rounds; roundIndex++)
      for (const subject of subjects) await subject.closedRound(sliceMs);
    const oneRps = one.closedSummary().rps;
    const twoRps = two.closedSummary().rps;
    settings.log(`webhook: replicas: one ${oneRps} rps, two ${twoRps} rps`);
    return {
      oneReplicaRps: oneRps,
      twoReplicasRps: twoRps,
      ratio: round(twoRps / oneRps, 3),
      oneReplicaCpuMsPerRequest: one.cpuMsPerRequest(),
      twoReplicasCpuMsPerRequest: two.cpuMsPerRequest(),
      errors: one.errors() + two.errors(),
    };
  } finally {
    await Promise.all(started.map((server) => server.stop()));
  }
}

export async function benchWebhook(options: WebhookBenchOptions = {}): Promise<WebhookBenchResult> {
  const settings: Settings = {
    seconds: options.seconds ?? Number(process.env.AEGIS_BENCH_SECONDS ?? 10),
    rounds: options.rounds ?? 5,
    concurrency: options.concurrency ?? 32,
    openLoopRps: options.openLoopRps ?? 200,
    log: options.log ?? ((line: string) => process.stderr.write(`${line}\n`)),
  };
  const variants = options.ledgerVariants ?? ["pglite", "postgres"];
  const tls = await benchTls();
  const run = async (databaseUrl: string | undefined): Promise<WebhookBenchResult> => {
    const subjects = await startSubjects(tls, variants, databaseUrl, settings);
    try {
      await measureAll(subjects, settings);
      return result(subjects, variants, settings);
    } finally {
      await Promise.all(subjects.map((subject) => subject.stop()));
    }
  };
  const measured = variants.includes("postgres") ? await withScratchDatabase((url) => run(url)) : await run(undefined);
  return options.replicas === false ? measured : { ...measured, replicas: await measureReplicas(tls, settings) };
}
