import type { EvidenceEvent } from "../ports/evidence.js";
import type { LockdownTransition } from "./detector.js";
import type { LockdownView } from "./lockdown.js";
import type { Threat } from "./types.js";

/** The `threat.detected` record for a threat; its id makes a re-raised threat recorded once. */
export function threatEvidence(threat: Threat, actor: string): EvidenceEvent {
  return {
    id: threat.id,
    type: "threat.detected",
    subject: `${threat.source.type}/${threat.source.name}`,
    actor,
    data: {
      detector: threat.detector,
      severity: threat.severity,
      message: threat.message,
      at: threat.at,
      source: threat.source,
      ...threat.data,
    },
  };
}

/**
 * The record of an automatic lockdown's start or end (subject `lockdown`). The detector calls for
 * it on one replica per transition (the store's SET NX, or end claim); the id, derived from the
 * lockdown's, keeps a repeated call (a lockdown decided alone during a store outage, then
 * written to the store) one record. Recorded as `threat.detected` with `data.transition`: the
 * ledger's record types are a closed list (src/ports/evidence.ts).
 */
export function lockdownEvidence(
  transition: LockdownTransition,
  lockdown: LockdownView,
  actor: string,
  replica: string,
): EvidenceEvent {
  return {
    id: `lockdown.${transition}:${lockdown.id}`,
    type: "threat.detected",
    subject: "lockdown",
    actor,
    data: {
      transition: `lockdown.${transition}`,
      lockdown: lockdown.id,
      scope: lockdown.scope,
      since: new Date(lockdown.sinceMs).toISOString(),
      until: lockdown.untilMs === null ? null : new Date(lockdown.untilMs).toISOString(),
      reason: lockdown.reason,
      replica,
    },
  };
}
