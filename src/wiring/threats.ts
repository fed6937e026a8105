// Everything main.ts needs for threat detection in one object, so its wiring stays a few lines:
// the detector over its state store (Redis when REDIS_URL is set: one state for every replica;
// else this process's memory), the gate's onDecision observer, the API's securityStatus,
// extraApprovals, the manual-lockdown sync from AegisPolicy annotations, and how a replica
// learns of a lockdown another one started: a bus hint at once, a poll every second otherwise.
import { Counter, Gauge, type Registry } from "prom-client";
import type { AegisPolicy } from "../api/v1alpha1/index.js";
import { RedisThreatStateStore } from "../adapters/redis/threat-state.js";
import { redisTlsOptions } from "../adapters/bus/redis-bus.js";
import type { EventBus } from "../ports/bus.js";
import type { EvidenceRecorder } from "../ports/evidence.js";
import type { Logger } from "../ports/logger.js";
import type { ThreatStateStore } from "../ports/threat-state.js";
import { defaultDetectors, ThreatDetector, type ThreatDetectorOptions } from "../threats/detector.js";
import { lockdownEvidence, threatEvidence } from "../threats/evidence.js";
import { lockdownReasonFrom } from "../threats/lockdown-annotation.js";
import { MemoryThreatStateStore } from "../threats/memory-state.js";
import { observationFromDecision, type DecisionLike } from "../threats/observation.js";

export interface ThreatDetectionDependencies {
  evidence: EvidenceRecorder;
  /** `metrics.threats` of AegisMetrics. */
  threatsMetric: { inc(labels: { severity: string }): void };
  bus?: Pick<EventBus, "publish" | "subscribe">;
  logger: Logger;
  /** AEGIS's own username: the actor of threat.detected records. */
  actor: string;
  /** Image sources not to treat as new (e.g. every policy's allowedRegistries). */
  knownRegistries?: readonly string[];
  now?: () => Date;
  /** Shared state between replicas; unset: this process's memory (one replica). */
  redisUrl?: string | undefined;
  /** --redis-ca-file: the CA a rediss:// server's certificate must chain to (redisTlsOptions). */
  redisCaFile?: string | undefined;
  /** A store built by the caller (tests: a key prefix of their own); wins over redisUrl. */
  store?: ThreatStateStore;
  /** This replica's identity (bus origin, Lease identity). */
  replica?: string;
  /** Where aegis_threat_state_* go (`metrics.registry`). */
  registry?: Registry;
  /** How often the shared lockdown is re-read besides bus hints. Default 1 s. */
  pollMs?: number;
  /** Detector options for tests (thresholds, lockdown period). */
  tuning?: Pick<ThreatDetectorOptions, "detectors" | "lockdownMs" | "lockdownAt" | "lockdownExtraApprovals">;
}

export interface ThreatDetection {
  detector: ThreatDetector;
  /** For the gate's `onDecision`: queues the observation, never waits. */
  onDecision(decision: DecisionLike): void;
  /** For createApiApp's `securityStatus`: re-reads the shared state first. */
  securityStatus(): Promise<Record<string, unknown>>;
  /** For the gate's and reconcilers' `extraApprovals`: the lockdown as last read, no I/O. */
  extraApprovals(): number;
  /** Call on every AegisPolicy change with `caches.policies.list()`. */
  syncLockdown(policies: readonly { readonly policy: AegisPolicy }[]): void;
  /** Stops polling, settles queued observations, closes the store. */
  close(): Promise<void>;
}

export function createThreatDetection(deps: ThreatDetectionDependencies): ThreatDetection {
  const replica = deps.replica ?? "local";
  const store =
    deps.store ??
    (deps.redisUrl
      ? new RedisThreatStateStore({
          url: deps.redisUrl,
          replicaId: replica,
          transport: redisTlsOptions(deps.redisUrl, deps.redisCaFile),
        })
      : new MemoryThreatStateStore());
  const { logger, bus } = deps;
  const detector = new ThreatDetector({
    ...deps.tuning,
    detectors: deps.tuning?.detectors ?? defaultDetectors(deps.knownRegistries ?? []),
    store,
    replica,
    ...(deps.now ? { now: deps.now } : {}),
    onThreat: (threat) => {
      deps.threatsMetric.inc({ severity: threat.severity });
      logger.warn({ threat: threat.id, severity: threat.severity, source: threat.source }, threat.message);
      deps.evidence
        .record(threatEvidence(threat, deps.actor))
        .catch((err: unknown) => logger.error({ err, threat: threat.id }, "could not record threat evidence"));
      void bus?.publish({
        topic: "threat",
        key: threat.id,
        data: { severity: threat.severity, message: threat.message, source: threat.source },
      });
    },
    onModeChange: (mode, reason) => {
      logger.warn({ mode, reason }, "security mode changed");
      void bus?.publish({ topic: "threat", key: "mode", data: { mode, reason } });
    },
    onLockdown: (transition, lockdown) => {
      logger.warn({ transition, lockdown: lockdown.id, scope: lockdown.scope }, `automatic lockdown ${transition}`);
      deps.evidence
        .record(lockdownEvidence(transition, lockdown, deps.actor, replica))
        .catch((err: unknown) =>
          logger.error({ err, lockdown: lockdown.id, transition }, "could not record lockdown evidence"),
        );
    },
    onLockdownWritten: (lockdown) =>
      void bus?.publish({ topic: "threat", key: "lockdown", data: { id: lockdown.id, untilMs: lockdown.untilMs } }),
    onStoreHealth: (healthy, error) => {
      if (healthy) logger.info({ replica }, "threat state: the shared store answers again; re-reading the lockdown");
      else
        logger.warn(
          { err: error, replica },
          "threat state: the shared store does not answer; holding the last lockdown read, deciding threats on this replica's own windows",
        );
    },
    onError: (err) => logger.error({ err }, "threat detection failed on a decision"),
  });
  const unsubscribe =
    bus?.subscribe((message) => {
      if (message.topic === "threat" && message.key === "lockdown" && message.origin !== replica)
        void detector.refresh();
    }) ?? ((): void => undefined);
  const poll = setInterval(() => void detector.refresh(), deps.pollMs ?? 1000);
  poll.unref();
  void detector.refresh();
  if (deps.registry) registerThreatStateMetrics(deps.registry, detector);
  return {
    detector,
    onDecision: (decision) => {
      try {
        detector.observe(observationFromDecision(decision));
      } catch (err) {
        logger.error({ err }, "threat detection failed on a decision");
      }
    },
    securityStatus: async () => ({ ...(await detector.status()) }),
    extraApprovals: () => detector.extraApprovals(),
    syncLockdown: (policies) => detector.setManualLockdown(lockdownReasonFrom(policies)),
    close: async () => {
      clearInterval(poll);
      unsubscribe();
      await detector.flush();
      await store.close();
    },
  };
}

/** Read at scrape time; counters move by the difference since the last scrape. */
function registerThreatStateMetrics(registry: Registry, detector: ThreatDetector): void {
  const counter = (name: string, help: string, read: () => number): void => {
    let last = 0;
    new Counter({
      name,
      help,
      registers: [registry],
      collect() {
        const value = read();
        if (value > last) this.inc(value - last);
        last = value;
      },
    });
  };
  counter(
    "aegis_threat_state_errors_total",
    "Threat-state store calls that failed (Redis unreachable or slow): decided on this replica's own windows",
    () => detector.stats().storeErrors,
  );
  counter(
    "aegis_threat_observations_dropped_total",
    "Observations left out of the shared threat counts because too many waited for the store",
    () => detector.stats().dropped,
  );
  new Gauge({
    name: "aegis_threat_state_healthy",
    help: "1 while the threat-state store answers (always 1 in memory); 0: lockdown held as last read",
    registers: [registry],
    collect() {
      this.set(detector.stats().healthy ? 1 : 0);
    },
  });
}
