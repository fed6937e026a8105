import type { EvidenceEvent } from "../ports/evidence.js";
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
