// The healing ladder: each episode (trouble until the Deployment is healthy again) climbs
// delete stuck pods → restart → roll back to the last approved revision → open the breaker.
// A step is taken only after the previous one had time to work (exponential backoff) and only
// within its hourly budget; when the next useful step is impossible, the breaker opens and a
// human is asked (escalation). Pure: the time, history and candidates come in.
import { actionsInLastHour, breakerOpen, episodeActions, type HealingAction, type HistoryEntry } from "./history.js";
import type { RevisionCandidate } from "./revisions.js";
import type { HealingSettings, HealingTuning } from "./settings.js";
import { detectSymptoms, isHealthy, stuckPods, type Symptom } from "./symptoms.js";
import type { DeploymentView, PodView } from "./views.js";

export interface HealingInput {
  readonly deployment: DeploymentView;
  readonly pods: readonly PodView[];
  readonly settings: HealingSettings;
  readonly tuning: HealingTuning;
  readonly history: readonly HistoryEntry[];
  /** The newest older revision whose change was approved, if any. */
  readonly rollbackTarget: RevisionCandidate | undefined;
  readonly now: Date;
}

export type HealingDecision =
  | { readonly kind: "none"; readonly why: string }
  | { readonly kind: "wait"; readonly untilMs: number; readonly symptom: Symptom }
  | {
      readonly kind: "act";
      readonly action: HealingAction;
      readonly symptom: Symptom;
      readonly rollbackTo?: RevisionCandidate;
      readonly pods?: readonly PodView[];
    }
  | {
      readonly kind: "escalate";
      readonly symptom: Symptom;
      readonly reason: EscalationReason;
      readonly message: string;
    }
  | { readonly kind: "recover" };

export type EscalationReason = "NothingHelped" | "BudgetExhausted" | "NoApprovedRevision";

const STEP_ORDER: readonly HealingAction[] = ["delete-pods", "restart", "rollback"];

/** Which steps may treat a symptom, in ladder order. */
const STEPS_FOR: Readonly<Record<Symptom["kind"], readonly HealingAction[]>> = {
  CrashLoop: ["restart", "rollback"],
  FailedRollout: ["rollback"],
  Unavailable: ["delete-pods", "restart", "rollback"],
};

export function backoffMs(actionsSoFar: number, tuning: HealingTuning): number {
  if (actionsSoFar <= 0) return 0;
  return Math.min(tuning.maxBackoffMs, tuning.baseBackoffMs * 2 ** (actionsSoFar - 1));
}

type StepCheck = { ok: true; pods?: readonly PodView[] } | { ok: false; escalate?: EscalationReason; why: string };

function budgetOf(action: HealingAction, settings: HealingSettings): number | undefined {
  return action === "rollback" ? settings.rollback?.maxActionsPerHour : settings.restart?.maxActionsPerHour;
}

function checkStep(action: HealingAction, input: HealingInput): StepCheck {
  const budget = budgetOf(action, input.settings);
  if (budget === undefined) return { ok: false, why: `${action} is not enabled` };
  const stuck = action === "delete-pods" ? stuckPods(input.pods, input.tuning, input.now) : [];
  if (action === "delete-pods" && stuck.length === 0) return { ok: false, why: "no stuck pods" };
  if (action === "rollback" && input.rollbackTarget === undefined)
    return { ok: false, escalate: "NoApprovedRevision", why: "no older revision was approved" };
  if (actionsInLastHour(input.history, action, input.now) >= budget) {
    return { ok: false, escalate: "BudgetExhausted", why: `${action} budget of ${budget}/hour is used up` };
  }
  return action === "delete-pods" ? { ok: true, pods: stuck } : { ok: true };
}

function nextSteps(symptom: Symptom, taken: readonly HistoryEntry[]): HealingAction[] {
  const highest = Math.max(-1, ...taken.map((entry) => STEP_ORDER.indexOf(entry.action as HealingAction)));
  return STEPS_FOR[symptom.kind].filter((step) => STEP_ORDER.indexOf(step) > highest);
}

function climb(symptom: Symptom, input: HealingInput, taken: readonly HistoryEntry[]): HealingDecision {
  const blocked: string[] = [];
  let reason: EscalationReason | undefined;
  for (const step of nextSteps(symptom, taken)) {
    const check = checkStep(step, input);
    if (check.ok) {
      const extra =
        step === "rollback" && input.rollbackTarget
          ? { rollbackTo: input.rollbackTarget }
          : check.pods
            ? { pods: check.pods }
            : {};
      return { kind: "act", action: step, symptom, ...extra };
    }
    blocked.push(check.why);
    reason ??= check.escalate;
  }
  if (taken.length === 0 && reason === undefined)
    return { kind: "none", why: `no enabled step for ${symptom.kind}: ${blocked.join("; ")}` };
  const tried = taken.map((entry) => entry.action).join(" → ");
  const message = `${symptom.kind}: ${symptom.detail}; ${tried ? `tried ${tried} without success; ` : ""}${blocked.join("; ") || "no further step"}. Self-healing stopped; a human must act`;
  return { kind: "escalate", symptom, reason: reason ?? "NothingHelped", message };
}

/** The one thing to do now for this Deployment. */
export function decideHealing(input: HealingInput): HealingDecision {
  const taken = episodeActions(input.history);
  const symptom = detectSymptoms(input)[0];
  if (symptom === undefined) {
    const episodeOpen = taken.length > 0 || breakerOpen(input.history);
    return episodeOpen && isHealthy(input.deployment) ? { kind: "recover" } : { kind: "none", why: "no symptom" };
  }
  if (breakerOpen(input.history))
    return { kind: "none", why: "circuit breaker open: waiting for a human or for recovery" };
  const last = taken.at(-1);
  if (last !== undefined) {
    const untilMs = Date.parse(last.at) + backoffMs(taken.length, input.tuning);
    if (input.now.getTime() < untilMs) return { kind: "wait", untilMs, symptom };
  }
  return climb(symptom, input, taken);
}
