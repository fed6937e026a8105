// Builds the detector's input from what the gate has at hand, so the gate's wiring is one call.
import { hostAccessSignals, privilegeSignals, workloadView } from "../risk/index.js";
import { imageSourceOf } from "../policy/index.js";
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
