// Everything main.ts needs for threat detection in one object, so its wiring stays a few lines:
// the detector, the gate's onDecision observer, the API's securityStatus, extraApprovals, and the
// manual-lockdown sync from AegisPolicy annotations.
import type { AegisPolicy } from "../api/v1alpha1/index.js";
import type { EventBus } from "../ports/bus.js";
import type { EvidenceRecorder } from "../ports/evidence.js";
import type { Logger } from "../ports/logger.js";
import { defaultDetectors, ThreatDetector } from "../threats/detector.js";
import { threatEvidence } from "../threats/evidence.js";
import { lockdownReasonFrom } from "../threats/lockdown-annotation.js";
import { observationFromDecision, type DecisionLike } from "../threats/observation.js";

export interface ThreatDetectionDependencies {
  evidence: EvidenceRecorder;
  /** `metrics.threats` of AegisMetrics. */
  threatsMetric: { inc(labels: { severity: string }): void };
  bus?: Pick<EventBus, "publish">;
  logger: Logger;
  /** AEGIS's own username: the actor of threat.detected records. */
  actor: string;
  /** Image sources not to treat as new (e.g. every policy's allowedRegistries). */
  knownRegistries?: readonly string[];
  now?: () => Date;
}

export interface ThreatDetection {
  detector: ThreatDetector;
  /** For the gate's `onDecision`. */
  onDecision(decision: DecisionLike): void;
  /** For createApiApp's `securityStatus`. */
  securityStatus(): Record<string, unknown>;
  /** For the gate's and reconcilers' `extraApprovals`. */
  extraApprovals(): number;
  /** Call on every AegisPolicy change with `caches.policies.list()`. */
  syncLockdown(policies: readonly { readonly policy: AegisPolicy }[]): void;
}

export function createThreatDetection(deps: ThreatDetectionDependencies): ThreatDetection {
  const detector = new ThreatDetector({
    detectors: defaultDetectors(deps.knownRegistries ?? []),
    ...(deps.now ? { now: deps.now } : {}),
    onThreat: (threat) => {
      deps.threatsMetric.inc({ severity: threat.severity });
      deps.logger.warn({ threat: threat.id, severity: threat.severity, source: threat.source }, threat.message);
      deps.evidence
        .record(threatEvidence(threat, deps.actor))
        .catch((err: unknown) => deps.logger.error({ err, threat: threat.id }, "could not record threat evidence"));
      void deps.bus?.publish({
        topic: "threat",
        key: threat.id,
        data: { severity: threat.severity, message: threat.message, source: threat.source },
      });
    },
    onModeChange: (mode, reason) => {
      deps.logger.warn({ mode, reason }, "security mode changed");
      void deps.bus?.publish({ topic: "threat", key: "mode", data: { mode, reason } });
    },
  });
  return {
    detector,
    onDecision: (decision) => {
      try {
        detector.observe(observationFromDecision(decision));
      } catch (err) {
        deps.logger.error({ err }, "threat detection failed on a decision");
      }
    },
    securityStatus: () => ({ ...detector.status() }),
    extraApprovals: () => detector.extraApprovals(),
    syncLockdown: (policies) => detector.setManualLockdown(lockdownReasonFrom(policies)),
  };
}
