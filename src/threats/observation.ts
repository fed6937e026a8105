// Builds the detector's input from what the gate has at hand, so the gate's wiring is one call.
import { hostAccessSignals, privilegeSignals, workloadView } from "../risk/index.js";
import { imageSourceOf, parseImageReference } from "../policy/index.js";
import type { AdmissionObservation } from "./types.js";

export interface GateFacts {
  readonly at: Date;
  readonly user: string;
  readonly groups: readonly string[];
  readonly namespace: string;
  readonly kind: string;
  readonly object: Record<string, unknown>;
  readonly allowed: boolean;
  readonly reason: string;
}

/** Privilege and image sources read from the admitted (or denied) object. */
export function observationOf(facts: GateFacts): AdmissionObservation {
  const view = workloadView(facts.kind, facts.object);
  const privileged = privilegeSignals(view).size > 0 || hostAccessSignals(view).length > 0;
  return {
    at: facts.at,
    user: facts.user,
    groups: facts.groups,
    namespace: facts.namespace,
    kind: facts.kind,
    allowed: facts.allowed,
    reason: facts.reason,
    privileged,
    registries: [...new Set(view.images.map(imageSourceOf))],
  };
}

/** The gate's `onDecision` payload, structurally (threats does not import the webhook). */
export interface DecisionLike {
  readonly at: Date;
  readonly user: string;
  readonly groups: readonly string[];
  readonly namespace: string;
  readonly kind: string;
  readonly allowed: boolean;
  readonly reason: string;
  readonly violations: readonly { readonly rule: string }[];
  readonly images: readonly string[];
  /** When the gate computes it (privilegeSignals/hostAccessSignals); else inferred from violations. */
  readonly privileged?: boolean;
}

/** Pod Security rules whose violation means the object asked for privilege or host access. */
export const PRIVILEGE_RULES: ReadonlySet<string> = new Set([
  "privileged",
  "hostNamespaces",
  "hostPathVolumes",
  "hostPorts",
  "capabilities_baseline",
  "allowPrivilegeEscalation",
  "windowsHostProcess",
  "hostProbesAndHostLifecycle",
]);

/** For `onDecision: (d) => threats.observe(observationFromDecision(d))`. */
export function observationFromDecision(decision: DecisionLike): AdmissionObservation {
  const privileged =
    decision.privileged ?? decision.violations.some((violation) => PRIVILEGE_RULES.has(violation.rule));
  return {
    at: decision.at,
    user: decision.user,
    groups: decision.groups,
    namespace: decision.namespace,
    kind: decision.kind,
    allowed: decision.allowed,
    reason: decision.reason,
    privileged,
    registries: [...new Set(decision.images.map((image) => imageSourceOf(parseImageReference(image))))],
  };
}
