// The healing history of one Deployment, kept in its own annotation so that the budget, the
// backoff and the circuit breaker survive leader changes and restarts without a database read.
// It is written in the same resourceVersion-guarded patch as the action it records (or, for pod
// deletions, before them), so the history can never miss an action that happened.

export const HISTORY_ANNOTATION = "aegis.valina.ai/healing-history";

export const HEALING_ACTIONS = ["restart", "rollback", "delete-pods"] as const;
export type HealingAction = (typeof HEALING_ACTIONS)[number];

/** `escalate` opens the breaker; `recovered` ends an episode (and closes the breaker). */
export type HistoryMark = HealingAction | "escalate" | "recovered";

export interface HistoryEntry {
  readonly action: HistoryMark;
  /** RFC 3339 time the action was taken. */
  readonly at: string;
  /** The symptom (CrashLoop, FailedRollout, Unavailable) or why the breaker opened. */
  readonly reason: string;
  /** Rollback target revision, deleted pods, … */
  readonly detail?: string;
}

const HOUR_MS = 3_600_000;
const MAX_ENTRIES = 50;
const MARKS = new Set<string>([...HEALING_ACTIONS, "escalate", "recovered"]);

function isEntry(value: unknown): value is HistoryEntry {
  if (typeof value !== "object" || value === null) return false;
  const entry = value as Record<string, unknown>;
  return (
    typeof entry["action"] === "string" &&
    MARKS.has(entry["action"]) &&
    typeof entry["at"] === "string" &&
    typeof entry["reason"] === "string"
  );
}

/** Entries in the order they happened; an unreadable annotation counts as no history. */
export function parseHistory(annotation: string | undefined): HistoryEntry[] {
  if (!annotation) return [];
  try {
    const parsed: unknown = JSON.parse(annotation);
    return Array.isArray(parsed) ? parsed.filter(isEntry) : [];
  } catch {
    return [];
  }
}

/**
 * What the annotation keeps: the current episode whole, plus whatever happened within the last
 * hour (the budget window); older entries are dropped so the annotation stays small.
 */
export function pruneHistory(entries: readonly HistoryEntry[], now: Date): HistoryEntry[] {
  const episodeStart = entries.length - currentEpisode(entries).length;
  const kept = entries.filter(
    (entry, index) => index >= episodeStart || now.getTime() - Date.parse(entry.at) < HOUR_MS,
  );
  return kept.slice(-MAX_ENTRIES);
}

export function serializeHistory(entries: readonly HistoryEntry[]): string {
  return JSON.stringify(entries);
}

/** Entries since the last `recovered` mark: the actions taken for the ongoing trouble. */
export function currentEpisode(entries: readonly HistoryEntry[]): HistoryEntry[] {
  const lastRecovery = entries.map((entry) => entry.action).lastIndexOf("recovered");
  return entries.slice(lastRecovery + 1);
}

/** Actions of one kind taken in the hour before `now` (recovered episodes included). */
export function actionsInLastHour(entries: readonly HistoryEntry[], action: HealingAction, now: Date): number {
  return entries.filter((entry) => entry.action === action && now.getTime() - Date.parse(entry.at) < HOUR_MS).length;
}

export function breakerOpen(entries: readonly HistoryEntry[]): boolean {
  return currentEpisode(entries).some((entry) => entry.action === "escalate");
}

/** Healing actions (not marks) of the ongoing episode. */
export function episodeActions(entries: readonly HistoryEntry[]): HistoryEntry[] {
  return currentEpisode(entries).filter((entry) => (HEALING_ACTIONS as readonly string[]).includes(entry.action));
}

/**
 * Deterministic id of an entry: the evidence record id and the Event name derive from it, so a
 * replay (a new leader, a retry after a lost reply) records the action once.
 */
export function entryId(deploymentUid: string, entry: HistoryEntry): string {
  return `selfhealing:${deploymentUid}:${entry.action}:${entry.at}`;
}
