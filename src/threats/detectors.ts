// The detectors. Thresholds are options with defaults tuned for a human-paced cluster; a CI
// system applying hundreds of objects a minute should get its own thresholds or be excluded.
import { WORKING_HOURS_UTC } from "../risk/factors.js";
import { Cooldown, SlidingWindow } from "./cooldown.js";
import {
  threatId,
  type AdmissionObservation,
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
    id: threatId(detector, source, parts.windowStart),
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
  const window = new SlidingWindow(options.windowMs);
  const cooldown = new Cooldown(options.cooldownMs);
  return {
    name,
    observe: (o) => {
      if (!counts(o)) return [];
      const count = window.add(o.user, o.at.getTime());
      const severity = levelFor(count, options.levels);
      if (!severity || !cooldown.allow(o.user, o.at.getTime(), severity)) return [];
      const source: ThreatSource = { type: "user", name: o.user };
      const seconds = Math.round(options.windowMs / 1000);
      const windowStart = new Date(window.firstOf(o.user) ?? o.at.getTime());
      return [
        threat(name, source, severity, {
          at: o.at,
          windowStart,
          message: `${o.user} made ${count} ${what} in ${seconds}s (latest: ${o.kind} in ${o.namespace}, ${o.reason})`,
          data: { count, windowSeconds: seconds, namespace: o.namespace },
        }),
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
 * minutes counted as zero), once the key has `warmUpMinutes` of history.
 */
export function rateAnomalyDetector(
  type: "user" | "namespace",
  options: RateOptions = { alpha: 0.1, zThreshold: 4, minPerMinute: 30, warmUpMinutes: 10, cooldownMs: 10 * MINUTE },
): Detector {
  const states = new Map<string, RateState>();
  const cooldown = new Cooldown(options.cooldownMs);
  const name = `${type}-rate`;
  return {
    name,
    observe: (o) => {
      const key = type === "user" ? o.user : o.namespace;
      const minute = Math.floor(o.at.getTime() / MINUTE);
      const state = states.get(key) ?? { minute, count: 0, mean: 0, variance: 0, minutesSeen: 0 };
      states.set(key, state);
      if (minute > state.minute) foldMinutes(state, minute, options.alpha);
      state.count += 1;
      const z = (state.count - state.mean) / Math.max(1, Math.sqrt(state.variance));
      if (state.minutesSeen < options.warmUpMinutes || state.count < options.minPerMinute || z < options.zThreshold)
        return [];
      // A rate alone is never high: busy is not hostile. Denials and privilege raise the stakes.
      const severity: Severity = "medium";
      if (!cooldown.allow(key, o.at.getTime(), severity)) return [];
      const source: ThreatSource = { type, name: key };
      const message = `${type} ${key}: ${state.count} requests this minute, usual ${state.mean.toFixed(1)}/min (z=${z.toFixed(1)})`;
      return [
        threat(name, source, severity, {
          at: o.at,
          windowStart: new Date(minute * MINUTE),
          message,
          data: { count: state.count, mean: state.mean, z },
        }),
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
  const cooldown = new Cooldown(cooldownMs);
  return {
    name: "off-hours",
    observe: (o) => {
      if (!isOutsideWorkingHours(o.at) || !cooldown.allow(o.user, o.at.getTime(), "low")) return [];
      const source: ThreatSource = { type: "user", name: o.user };
      const message = `${o.user} changed ${o.kind} in ${o.namespace} at ${o.at.toISOString().slice(0, 16)}Z, outside working hours`;
      return [
        threat("off-hours", source, "low", {
          at: o.at,
          windowStart: o.at,
          message,
          data: { namespace: o.namespace, kind: o.kind },
        }),
      ];
    },
  };
}

export interface RegistryOptions {
  /** Sources known from the start (e.g. every policy's allowedRegistries). */
  readonly known: readonly string[];
  /** Everything seen in this first period is learnt silently (a fresh replica knows nothing). */
  readonly learningMs: number;
}

/** An image source never seen before in this cluster: medium, high when the request asks for privilege. */
export function newRegistryDetector(options: RegistryOptions = { known: [], learningMs: 10 * MINUTE }): Detector {
  const seen = new Set(options.known.map((source) => source.replace(/\/+$/, "")));
  let startedMs: number | undefined;
  return {
    name: "new-registry",
    observe: (o) => {
      startedMs ??= o.at.getTime();
      const learning = o.at.getTime() - startedMs < options.learningMs;
      const novel = [...new Set(o.registries)].filter((source) => !seen.has(source));
      novel.forEach((source) => seen.add(source));
      if (learning) return [];
      return novel.map((source) =>
        threat("new-registry", { type: "registry", name: source }, o.privileged ? "high" : "medium", {
          at: o.at,
          windowStart: o.at,
          message: `first image from ${source} (${o.user}, ${o.kind} in ${o.namespace}, ${o.allowed ? "allowed" : "denied"})`,
          data: { user: o.user, namespace: o.namespace, allowed: o.allowed },
        }),
      );
    },
  };
}
