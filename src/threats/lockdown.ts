// Lockdown (decision), pure: which lockdown holds now, from what this replica knows.
//
// - manual: an AegisPolicy annotation (every replica watches policies): held until removed;
// - shared: the automatic lockdown in the state store, as this replica last read it: holds
//   until its end while the store answers; while it does not, it holds past its end (fail safe:
//   another replica may have extended it, and this replica cannot tell);
// - local: started by this replica on its own windows while the store could not be reached;
//   written to the store when it answers again.
import type { SharedLockdown } from "../ports/threat-state.js";
import type { Threat } from "./types.js";

export type LockdownScope = "manual" | "cluster" | "replica";

export interface LockdownView {
  readonly id: string;
  readonly sinceMs: number;
  /** null: until an operator ends it (manual). */
  readonly untilMs: number | null;
  readonly reason: string;
  readonly scope: LockdownScope;
  /** Read from the store before it stopped answering, held past its end if need be. */
  readonly stale: boolean;
}

export interface ManualLockdown {
  readonly reason: string;
  readonly sinceMs: number;
}

export interface LockdownFacts {
  readonly manual: ManualLockdown | null;
  readonly shared: SharedLockdown | null;
  readonly local: SharedLockdown | null;
  /** Whether the store answered the latest call. */
  readonly storeHealthy: boolean;
  readonly nowMs: number;
}

export function effectiveLockdown(facts: LockdownFacts): LockdownView | null {
  if (facts.manual)
    return {
      id: `manual:${facts.manual.sinceMs}`,
      sinceMs: facts.manual.sinceMs,
      untilMs: null,
      reason: facts.manual.reason,
      scope: "manual",
      stale: false,
    };
  const shared = facts.shared;
  const local = facts.local && facts.nowMs < facts.local.untilMs ? facts.local : null;
  if (shared && (facts.nowMs < shared.untilMs || !facts.storeHealthy)) {
    const untilMs = Math.max(shared.untilMs, local?.untilMs ?? 0);
    return { ...viewOf(shared, "cluster"), untilMs, stale: !facts.storeHealthy };
  }
  return local ? viewOf(local, "replica") : null;
}

export function viewOf(lockdown: SharedLockdown, scope: LockdownScope): LockdownView {
  return {
    id: lockdown.id,
    sinceMs: lockdown.sinceMs,
    untilMs: lockdown.untilMs,
    reason: lockdown.reason,
    scope,
    stale: false,
  };
}

/** The automatic lockdown a threat asks for: from now until `lockdownMs` after it. */
export function lockdownFor(threat: Threat, nowMs: number, lockdownMs: number, origin: string): SharedLockdown {
  return {
    id: `lockdown:${threat.id}`,
    sinceMs: nowMs,
    untilMs: nowMs + lockdownMs,
    reason: `${threat.severity} threat: ${threat.message}`,
    origin,
  };
}

/** Extends `running` (if any) with `next`: the same lockdown, ending at the later end. */
export function extendLockdown(running: SharedLockdown | null, next: SharedLockdown, nowMs: number): SharedLockdown {
  if (!running || nowMs >= running.untilMs) return next;
  return next.untilMs > running.untilMs ? { ...running, untilMs: next.untilMs, reason: next.reason } : running;
}
