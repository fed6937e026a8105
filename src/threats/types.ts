// Threat detection over the admission stream: what the gate reports per request and what the
// detectors raise. Pure: the counts detectors decide on come from a ThreatStateStore (shared by
// the replicas through Redis, or one replica's memory), the decisions are made here.
import type { CountOp, CountResult } from "../ports/threat-state.js";

/** One admission decision, as the gate reports it (after deciding, off the response path). */
export interface AdmissionObservation {
  readonly at: Date;
  readonly user: string;
  readonly groups: readonly string[];
  readonly namespace: string;
  readonly kind: string;
  readonly allowed: boolean;
  /** The gate's reason: ChecksPassed, PolicyViolation, Approved, ApprovalPending, … */
  readonly reason: string;
  /** The object asks for privilege (privileged, host access, added capabilities, root). */
  readonly privileged: boolean;
  /** Image sources of the object (see imageSourceOf), e.g. `ghcr.io/acme`. */
  readonly registries: readonly string[];
}

export const SEVERITIES = ["low", "medium", "high", "critical"] as const;
export type Severity = (typeof SEVERITIES)[number];

export function severityRank(severity: Severity): number {
  return SEVERITIES.indexOf(severity);
}

export type SourceType = "user" | "namespace" | "registry";

export interface ThreatSource {
  readonly type: SourceType;
  readonly name: string;
}

export interface Threat {
  /** Deterministic per detector, source, time window and severity (threatId). */
  readonly id: string;
  readonly at: string;
  readonly detector: string;
  readonly severity: Severity;
  readonly source: ThreatSource;
  readonly message: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** A threat a detector would raise; it is raised when its cooldown slot is free across replicas. */
export interface Candidate {
  readonly threat: Threat;
  /** One threat per slot per cooldown unless its severity rises, e.g. `denial-burst:user:mallory`. */
  readonly cooldownKey: string;
  /** 0: no cooldown (the detector raises once by itself). */
  readonly cooldownMs: number;
}

/**
 * One detector, in two pure steps around the state store: `plan` says what an observation adds
 * to the shared counts (windows, minute counters, first-seen sets); `decide` turns the store's
 * answers (same order) into candidates. Neither does I/O; the detector may keep a baseline of its
 * own (the rate detectors' EWMA), folded from the shared counts.
 */
export interface Detector {
  readonly name: string;
  /** `member` is unique per observation (the window entries' ids). */
  plan(observation: AdmissionObservation, member: string): CountOp[];
  decide(observation: AdmissionObservation, results: readonly CountResult[]): Candidate[];
}

/**
 * Per detector, source, window and severity: a replayed observation gives the same id, and a
 * threat that escalates in its window (medium, then high) is a second record, not one the
 * ledger drops as a repeat.
 */
export function threatId(detector: string, source: ThreatSource, windowStart: Date, severity: Severity): string {
  return `threat:${detector}:${source.type}:${source.name}:${windowStart.toISOString()}:${severity}`;
}
