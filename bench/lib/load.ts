// A small HTTPS load generator on node:https with a keep-alive agent: closed loop (fixed
// concurrency for a fixed time → throughput and latency) and open loop (a fixed arrival rate,
// requests sent on schedule whether or not earlier ones finished → latency at that rate).
import { Agent, request } from "node:https";
import { EXPECTED_ALLOWED, type ReviewTemplate } from "./fixtures.js";

export interface LoadTarget {
  readonly port: number;
  readonly ca: string;
  /** Reviews sent in turn (request i uses templates[i % length]). */
  readonly templates: readonly ReviewTemplate[];
  /** Parse every response and compare uid and `allowed` with the expectation (slower client). */
  readonly strict?: boolean;
}

export interface LatencySummary {
  requests: number;
  errors: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
}

interface Outcome {
  ok: boolean;
  error?: string;
}

let runCounter = 0;

function percentile(sorted: Float64Array, fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return round(sorted[index] ?? Number.NaN);
}

export function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** Latencies (ms) and errors, pooled over any number of runs. */
export class Recorder {
  private values = new Float64Array(1 << 16);
  private count = 0;
  errors = 0;
  firstErrors: string[] = [];

  add(ms: number): void {
    if (this.count === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.count++] = ms;
  }

  fail(message: string): void {
    this.errors += 1;
    if (this.firstErrors.length < 5) this.firstErrors.push(message);
  }

  get succeeded(): number {
    return this.count;
  }

  /** Summary over `seconds` of measured time (the sum of the runs' durations). */
  summary(seconds: number): LatencySummary {
    const sorted = this.values.slice(0, this.count).sort();
    const requests = this.count + this.errors;
    return {
      requests,
      errors: this.errors,
      seconds: round(seconds),
      rps: Math.round(this.count / seconds),
      p50Ms: percentile(sorted, 0.5),
      p90Ms: percentile(sorted, 0.9),
      p99Ms: percentile(sorted, 0.99),
      p999Ms: percentile(sorted, 0.999),
      maxMs: percentile(sorted, 1),
    };
  }
}

export class LoadClient {
  private readonly agent: Agent;
  private readonly run = ++runCounter;
  private sent = 0;

  constructor(
    private readonly target: LoadTarget,
    maxSockets: number,
  ) {
    this.agent = new Agent({
      keepAlive: true,
      maxSockets,
      maxFreeSockets: maxSockets,
      ca: target.ca,
      scheduling: "fifo",
    });
  }

  close(): void {
    this.agent.destroy();
  }

  /** Sends the next review; resolves with whether it came back 200 with the expected answer. */
  send(): Promise<Outcome> {
    const index = this.sent++;
    const template = this.target.templates[index % this.target.templates.length];
    if (!template) return Promise.resolve({ ok: false, error: "no review templates" });
    const uid = `bench-${this.run}-${index}`;
    const body = `${template.prefix}${uid}${template.suffix}`;
    const expected = EXPECTED_ALLOWED[template.kind];
    return new Promise((resolve) => {
      const req = request(
        {
          agent: this.agent,
          host: "127.0.0.1",
          port: this.target.port,
          path: "/validate",
          method: "POST",
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body) },
          timeout: 10_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () =>
            resolve(this.judge(res.statusCode ?? 0, Buffer.concat(chunks).toString("utf8"), uid, expected)),
          );
          res.on("error", (error) => resolve({ ok: false, error: error.message }));
        },
      );
      req.on("timeout", () => req.destroy(new Error("request timed out after 10 s")));
      req.on("error", (error) => resolve({ ok: false, error: error.message }));
      req.end(body);
    });
  }

  private judge(status: number, text: string, uid: string, expected: boolean): Outcome {
    if (status !== 200) return { ok: false, error: `HTTP ${status}: ${text.slice(0, 200)}` };
    if (!this.target.strict) {
      return text.includes(`"allowed":${expected}`)
        ? { ok: true }
        : { ok: false, error: `allowed mismatch: ${text.slice(0, 300)}` };
    }
    const review = JSON.parse(text) as { response?: { uid?: unknown; allowed?: unknown } };
    if (review.response?.uid !== uid)
      return { ok: false, error: `uid mismatch: ${String(review.response?.uid)} != ${uid}` };
    if (review.response.allowed !== expected)
      return {
        ok: false,
        error: `allowed=${String(review.response.allowed)}, expected ${expected}: ${text.slice(0, 300)}`,
      };
    return { ok: true };
  }
}

async function timed(client: LoadClient, recorder: Recorder, startedAt = performance.now()): Promise<void> {
  const outcome = await client.send();
  if (outcome.ok) recorder.add(performance.now() - startedAt);
  else recorder.fail(outcome.error ?? "unknown error");
}

/** `concurrency` callers (give `client` at least that many sockets), each sending its next request when the previous answered, for `durationMs`; returns seconds measured. */
export async function closedLoop(
  client: LoadClient,
  concurrency: number,
  durationMs: number,
  recorder = new Recorder(),
): Promise<number> {
  const started = performance.now();
  const deadline = started + durationMs;
  const caller = async (): Promise<void> => {
    while (performance.now() < deadline) await timed(client, recorder);
  };
  await Promise.all(Array.from({ length: concurrency }, caller));
  return (performance.now() - started) / 1000;
}

/**
 * Sends `rate` requests per second on a fixed schedule for `durationMs`, never waiting for
 * answers (open loop, so a slow server cannot slow the arrivals down and hide its latency).
 * `recorder` gets latency from the actual send, `fromSchedule` from the scheduled send time.
 * Returns seconds measured (until the last answer).
 */
export async function openLoop(
  client: LoadClient,
  rate: number,
  durationMs: number,
  recorder = new Recorder(),
  fromSchedule = new Recorder(),
): Promise<number> {
  const total = Math.round((rate * durationMs) / 1000);
  const interval = 1000 / rate;
  const inFlight: Promise<void>[] = [];
  const started = performance.now();
  let next = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      while (next < total && started + next * interval <= now) {
        const scheduled = started + next * interval;
        const sentAt = performance.now();
        inFlight.push(
          client.send().then((outcome) => {
            const end = performance.now();
            if (!outcome.ok) return recorder.fail(outcome.error ?? "unknown error");
            recorder.add(end - sentAt);
            fromSchedule.add(end - scheduled);
          }),
        );
        next += 1;
      }
      if (next >= total) resolve();
      else setTimeout(tick, Math.max(0, started + next * interval - performance.now()));
    };
    tick();
  });
  await Promise.all(inFlight);
  return (performance.now() - started) / 1000;
}
