// The detectors. Thresholds are options with defaults tuned for a human-paced cluster; a CI
// system applying hundreds of objects a minute should get its own thresholds or be excluded.
// Each is pure: `plan` names the counts an observation adds, `decide` reads the store's answers.
import type { ThreatClaim } from "../ports/threat-state.js";
import { WORKING_HOURS_UTC } from "../risk/factors.js";
import { LocalThreatState } from "./memory-state.js";
import {
  severityRank,
  threatId,
  type AdmissionObservation,
  type Candidate,
  type Detector,
  type Severity,
  type Threat,
  type ThreatSource,
} from "./types.js";

const MINUTE = 60_000;

function threat(
  detector: string,
  source: ThreatSource,
  severity: Severity,
  parts: { at: Date; windowStart: Date; message: string; data: Record<string, unknown> },
): Threat {
  return {
    id: threatId(detector, source, parts.windowStart, severity),
    at: parts.at.toISOString(),
    detector,
    severity,
    source,
    message: parts.message,
    data: parts.data,
  };
}

export interface BurstOptions {
  readonly windowMs: number;
  /** Count in the window at which each severity is raised, e.g. { medium: 10, high: 30 }. */
  readonly levels: Partial<Record<Severity, number>>;
  readonly cooldownMs: number;
}

function levelFor(count: number, levels: Partial<Record<Severity, number>>): Severity | undefined {
  const reached = (Object.entries(levels) as [Severity, number][])
    .filter(([, min]) => count >= min)
    .sort((a, b) => b[1] - a[1]);
  return reached[0]?.[0];
}

/** Many denials from one user in a short window: probing policies or a broken pipeline. */
export function denialBurstDetector(
  options: BurstOptions = { windowMs: MINUTE, levels: { medium: 10, high: 30 }, cooldownMs: 5 * MINUTE },
): Detector {
  return burstDetector("denial-burst", (o) => !o.allowed, "denied requests", options);
}

/**
 * Denied requests for privilege from one user: one is worth noting, several in a few minutes look
 * like someone trying ways around the policy. Admitted privileged changes (a CNI DaemonSet
 * rollout) are the policy working as intended and are not counted.
 */
export function privilegedBurstDetector(
  options: BurstOptions = { windowMs: 5 * MINUTE, levels: { low: 1, high: 5 }, cooldownMs: 5 * MINUTE },
): Detector {
  return burstDetector("privileged-attempts", (o) => o.privileged && !o.allowed, "denied privileged requests", options);
}

function burstDetector(
  name: string,
  counts: (o: AdmissionObservation) => boolean,
  what: string,
  options: BurstOptions,
): Detector {
  return {
    name,
    plan: (o, member) =>
      counts(o)
        ? [{ op: "window", key: `${name}:user:${o.user}`, atMs: o.at.getTime(), windowMs: options.windowMs, member }]
        : [],
    decide: (o, [result]) => {
      if (result?.op !== "window") return [];
      const count = result.count;
      const severity = levelFor(count, options.levels);
      if (!severity) return [];
      const source: ThreatSource = { type: "user", name: o.user };
      const seconds = Math.round(options.windowMs / 1000);
      return [
        {
          cooldownKey: `${name}:user:${o.user}`,
          cooldownMs: options.cooldownMs,
          threat: threat(name, source, severity, {
            at: o.at,
            windowStart: new Date(result.firstMs),
            message: `${o.user} made ${count} ${what} in ${seconds}s (latest: ${o.kind} in ${o.namespace}, ${o.reason})`,
            data: { count, windowSeconds: seconds, namespace: o.namespace },
          }),
        },
      ];
    },
  };
}

export interface RateOptions {
  /** EWMA smoothing per minute. */
  readonly alpha: number;
  /** Standard deviations above the mean that count as unusual. */
  readonly zThreshold: number;
  /** Below this many requests a minute nothing is unusual. */
  readonly minPerMinute: number;
  /** Minutes of a key's history before it can be unusual: a fresh replica knows no one's habits. */
  readonly warmUpMinutes: number;
  readonly cooldownMs: number;
}

interface RateState {
  minute: number;
  count: number;
  mean: number;
  variance: number;
  minutesSeen: number;
}

/** Per-minute request counts folded into an EWMA mean and variance, per key. */
function foldMinutes(state: RateState, minute: number, alpha: number): void {
  const elapsed = Math.min(60, minute - state.minute);
  for (let i = 0; i < elapsed; i += 1) {
    const x = i === 0 ? state.count : 0;
    const delta = x - state.mean;
    state.mean += alpha * delta;
    state.variance = (1 - alpha) * (state.variance + alpha * delta * delta);
    state.minutesSeen += 1;
  }
  state.minute = minute;
  state.count = 0;
}

/**
 * A user or namespace far above its own usual rate (EWMA z-score over minute buckets, quiet
 * minutes counted as zero), once the key has `warmUpMinutes` of history. The minute counts are
 * shared (every replica's requests); the baseline is folded by each replica from those counts
 * (the finished minute's total as the store reports it), so a fresh replica warms up again.
 */
export function rateAnomalyDetector(
  type: "user" | "namespace",
  options: RateOptions = { alpha: 0.1, zThreshold: 4, minPerMinute: 30, warmUpMinutes: 10, cooldownMs: 10 * MINUTE },
): Detector {
  const states = new Map<string, RateState>();
  const name = `${type}-rate`;
  const keyOf = (o: AdmissionObservation): string => (type === "user" ? o.user : o.namespace);
  return {
    name,
    plan: (o) => [{ op: "minute", key: `${name}:${keyOf(o)}`, minute: Math.floor(o.at.getTime() / MINUTE) }],
    decide: (o, [result]) => {
      if (result?.op !== "minute") return [];
      const key = keyOf(o);
      const minute = Math.floor(o.at.getTime() / MINUTE);
      const state = states.get(key) ?? { minute, count: 0, mean: 0, variance: 0, minutesSeen: 0 };
      states.set(key, state);
      // A late observation of a minute already folded changes nothing.
      if (minute < state.minute) return [];
      if (minute > state.minute) {
        // The finished minute's total across replicas, when it is the one just before.
        if (state.minute === minute - 1) state.count = Math.max(state.count, result.previous);
        foldMinutes(state, minute, options.alpha);
      }
      state.count = Math.max(state.count, result.count);
      const z = (state.count - state.mean) / Math.max(1, Math.sqrt(state.variance));
      if (state.minutesSeen < options.warmUpMinutes || state.count < options.minPerMinute || z < options.zThreshold)
        return [];
      // A rate alone is never high: busy is not hostile. Denials and privilege raise the stakes.
      const severity: Severity = "medium";
      const source: ThreatSource = { type, name: key };
      const message = `${type} ${key}: ${state.count} requests this minute, usual ${state.mean.toFixed(1)}/min (z=${z.toFixed(1)})`;
      return [
        {
          cooldownKey: `${name}:${type}:${key}`,
          cooldownMs: options.cooldownMs,
          threat: threat(name, source, severity, {
            at: o.at,
            windowStart: new Date(minute * MINUTE),
            message,
            data: { count: state.count, mean: state.mean, z },
          }),
        },
      ];
    },
  };
}

export function isOutsideWorkingHours(at: Date): boolean {
  const day = at.getUTCDay();
  const hour = at.getUTCHours();
  return day === 0 || day === 6 || hour < WORKING_HOURS_UTC.start || hour >= WORKING_HOURS_UTC.end;
}

/** Changes outside working hours (UTC weekdays 08-18, as the risk score uses): low, once an hour per user. */
export function offHoursDetector(cooldownMs = 60 * MINUTE): Detector {
  return {
    name: "off-hours",
    plan: () => [],
    decide: (o) => {
      if (!isOutsideWorkingHours(o.at)) return [];
      const source: ThreatSource = { type: "user", name: o.user };
      const message = `${o.user} changed ${o.kind} in ${o.namespace} at ${o.at.toISOString().slice(0, 16)}Z, outside working hours`;
      return [
        {
          cooldownKey: `off-hours:user:${o.user}`,
          cooldownMs,
          threat: threat("off-hours", source, "low", {
            at: o.at,
            windowStart: o.at,
            message,
            data: { namespace: o.namespace, kind: o.kind },
          }),
        },
      ];
    },
  };
}

export interface RegistryOptions {
  /** Sources known from the start (e.g. every policy's allowedRegistries). */
  readonly known: readonly string[];
  /** Everything seen in this first period is learnt silently (a fresh cluster knows nothing). */
  readonly learningMs: number;
}

/**
 * An image source never seen before in this cluster: medium, high when the request asks for
 * privilege. "Seen" is one set for every replica, so a source is new once, on whichever replica
 * serves it first; the learning period starts with the set.
 */
export function newRegistryDetector(options: RegistryOptions = { known: [], learningMs: 10 * MINUTE }): Detector {
  const known = new Set(options.known.map((source) => source.replace(/\/+$/, "")));
  return {
    name: "new-registry",
    plan: (o) =>
      [...new Set(o.registries)].map((member) => ({
        op: "first-seen" as const,
        key: "new-registry",
        member,
        atMs: o.at.getTime(),
      })),
    decide: (o, results) =>
      [...new Set(o.registries)].flatMap((source, index) => {
        const result = results[index];
        if (result?.op !== "first-seen" || !result.novel || known.has(source)) return [];
        if (o.at.getTime() - result.sinceMs < options.learningMs) return [];
        return [
          {
            cooldownKey: `new-registry:registry:${source}`,
            cooldownMs: 0,
            threat: threat("new-registry", { type: "registry", name: source }, o.privileged ? "high" : "medium", {
              at: o.at,
              windowStart: o.at,
              message: `first image from ${source} (${o.user}, ${o.kind} in ${o.namespace}, ${o.allowed ? "allowed" : "denied"})`,
              data: { user: o.user, namespace: o.namespace, allowed: o.allowed },
            }),
          },
        ];
      }),
  };
}

/**
 * A detector run on its own over a state of its own, synchronously: what a single replica's
 * detector does per observation (plan, count, decide, claim). For tests and tools.
 */
export function runLocally(
  detector: Detector,
  state: LocalThreatState = new LocalThreatState(),
): { readonly name: string; observe(observation: AdmissionObservation): Threat[] } {
  let sequence = 0;
  return {
    name: detector.name,
    observe: (o) => {
      sequence += 1;
      const candidates = detector.decide(o, state.count(detector.plan(o, `local:${sequence}`)));
      const raised = state.claim(candidates.map(claimOf));
      return candidates.filter((_, index) => raised[index]).map((candidate) => candidate.threat);
    },
  };
}

/** The store's view of a candidate. */
export function claimOf(candidate: Candidate): ThreatClaim {
  const { threat: raised } = candidate;
  return {
    key: candidate.cooldownKey,
    rank: severityRank(raised.severity),
    atMs: Date.parse(raised.at),
    periodMs: candidate.cooldownMs,
    source: `${raised.source.type}/${raised.source.name}`,
    threat: { ...raised },
  };
}
