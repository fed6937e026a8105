/**
 * Risk score v1: named factors with fixed points. The table is exported so a learned model can
 * start from these weights and so explanations can show them.
 */
export const RISK_FACTOR_POINTS = {
  /** A CREATE: nothing about this workload has run here before. */
  "new-workload": 10,
  /** An image from a source the workload did not use before (supply-chain risk). */
  "new-registry": 20,
  /** An image referenced by tag, which can change under the same name, instead of a digest. */
  "mutable-tag": 10,
  /** More privilege than before: privileged, added capabilities, root, privilege escalation. */
  "privilege-increase": 25,
  /** hostNetwork/hostPID/hostIPC, hostPath volumes or hostPorts. */
  "host-access": 20,
  /** The namespace is labelled aegis.valina.ai/critical=true. */
  "critical-namespace": 20,
  /** Replicas more than doubled or grew by 10 or more. */
  "replicas-jump": 10,
  /** Weekend, or outside 08:00-18:00 UTC, when fewer people watch. */
  "outside-working-hours": 10,
  /** Environment variables, envFrom or secret volumes changed. */
  "secret-or-env-change": 15,
  /** Informational: an image changed. */
  "image-change": 5,
  /** An image repository no approved change of the namespace ran, from a source they did use. */
  "new-image": 5,
  /** The requester has no approved change in the namespace yet. */
  "new-owner": 10,
} as const satisfies Record<string, number>;

export type RiskFactorName = keyof typeof RISK_FACTOR_POINTS;

export const RISK_FACTOR_NAMES = Object.keys(RISK_FACTOR_POINTS) as RiskFactorName[];

export const MAX_RISK_SCORE = 100;

/** Namespace label that marks a namespace as critical. */
export const CRITICAL_NAMESPACE_LABEL = "aegis.valina.ai/critical";

/** Working hours in UTC, [start, end). */
export const WORKING_HOURS_UTC = { start: 8, end: 18 } as const;
