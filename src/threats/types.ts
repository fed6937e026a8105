// Threat detection over the admission stream: what the gate reports per request and what the
// detectors raise. Pure and in memory: each replica watches the requests it served.

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
  /** Deterministic per detector, source and time window: a replayed observation gives the same id. */
  readonly id: string;
  readonly at: string;
  readonly detector: string;
  readonly severity: Severity;
  readonly source: ThreatSource;
  readonly message: string;
  readonly data: Readonly<Record<string, unknown>>;
}

/** One detector: folds an observation into its state and says what it raises now. */
export interface Detector {
  readonly name: string;
  observe(observation: AdmissionObservation): Threat[];
}

export function threatId(detector: string, source: ThreatSource, windowStart: Date): string {
  return `threat:${detector}:${source.type}:${source.name}:${windowStart.toISOString()}`;
}
