// The threat state in one process's memory: the whole state of a single replica (no REDIS_URL),
// and, beside Redis, each replica's own copy of its windows, used while Redis cannot be reached.
// Synchronous and pure (times come in as arguments); MemoryThreatStateStore wraps it in the port.
import type {
  CountOp,
  CountResult,
  LockdownState,
  SharedLockdown,
  ThreatClaim,
  ThreatSnapshot,
  ThreatStateStore,
} from "../ports/threat-state.js";
import { SlidingWindow } from "./cooldown.js";

const SEVERITY_NAMES = ["low", "medium", "high", "critical"] as const;

export class LocalThreatState {
  private readonly windows = new Map<number, SlidingWindow>();
  private readonly minutes = new Map<string, number>();
  private readonly firstSeen = new Map<string, { sinceMs: number; members: Set<string> }>();
  private readonly slots = new Map<string, { atMs: number; rank: number; periodMs: number }>();
  private readonly recent: Readonly<Record<string, unknown>>[] = [];
  /** Only severities raised at least once, as in Redis (status fills in the zeros). */
  private readonly counts: Record<string, number> = {};
  private readonly sources = new Map<string, { threats: number; highestRank: number }>();
  private current: SharedLockdown | null = null;
  private last: SharedLockdown | null = null;
  private readonly ended = new Set<string>();
  private observed = 0;
  private newestMinute = Number.NEGATIVE_INFINITY;

  constructor(private readonly recentLimit = 50) {}

  count(ops: readonly CountOp[], observed = 0): CountResult[] {
    this.observed += observed;
    return ops.map((op): CountResult => {
      switch (op.op) {
        case "window": {
          const window = this.windows.get(op.windowMs) ?? new SlidingWindow(op.windowMs);
          this.windows.set(op.windowMs, window);
          const count = window.add(op.key, op.atMs);
          return { op: "window", count, firstMs: window.firstOf(op.key) ?? op.atMs };
        }
        case "minute": {
          this.forgetOldMinutes(op.minute);
          const slot = `${op.key}\u0000${op.minute}`;
          const count = (this.minutes.get(slot) ?? 0) + 1;
          this.minutes.set(slot, count);
          return { op: "minute", count, previous: this.minutes.get(`${op.key}\u0000${op.minute - 1}`) ?? 0 };
        }
        case "first-seen": {
          const set = this.firstSeen.get(op.key) ?? { sinceMs: op.atMs, members: new Set<string>() };
          this.firstSeen.set(op.key, set);
          const novel = !set.members.has(op.member);
          set.members.add(op.member);
          return { op: "first-seen", novel, sinceMs: set.sinceMs };
        }
      }
    });
  }

  /** Claims cooldown slots in order; `force` remembers threats another store already raised. */
  claim(claims: readonly ThreatClaim[], force = false): boolean[] {
    return claims.map((claim) => {
      const previous = this.slots.get(claim.key);
      const free =
        force ||
        previous === undefined ||
        claim.atMs - previous.atMs >= previous.periodMs ||
        claim.rank > previous.rank;
      if (!free) return false;
      if (claim.periodMs > 0)
        this.slots.set(claim.key, { atMs: claim.atMs, rank: claim.rank, periodMs: claim.periodMs });
      this.remember(claim);
      return true;
    });
  }

  lockDown(lockdown: SharedLockdown, nowMs: number): { started: boolean; lockdown: SharedLockdown } {
    const running = this.running(nowMs);
    if (!running) {
      this.current = lockdown;
      this.last = lockdown;
      return { started: true, lockdown };
    }
    const extended =
      lockdown.untilMs > running.untilMs ? { ...running, untilMs: lockdown.untilMs, reason: lockdown.reason } : running;
    this.current = extended;
    this.last = extended;
    return { started: false, lockdown: extended };
  }

  lockdown(nowMs: number): LockdownState {
    const current = this.running(nowMs);
    return { current, last: this.last, lastEndClaimed: this.last !== null && this.ended.has(this.last.id) };
  }

  claimLockdownEnd(id: string, nowMs: number): boolean {
    if (this.running(nowMs)?.id === id || this.ended.has(id)) return false;
    this.ended.add(id);
    return true;
  }

  clearLockdown(): void {
    this.current = null;
  }

  snapshot(recentLimit = this.recentLimit): ThreatSnapshot {
    const topSources = [...this.sources.entries()]
      .map(([source, entry]) => ({ source, ...entry }))
      .sort((a, b) => b.threats - a.threats || b.highestRank - a.highestRank)
      .slice(0, 10);
    return {
      observed: this.observed,
      counts: { ...this.counts },
      recent: this.recent.slice(0, recentLimit),
      topSources,
    };
  }

  private running(nowMs: number): SharedLockdown | null {
    if (this.current && nowMs >= this.current.untilMs) this.current = null;
    return this.current;
  }

  private remember(claim: ThreatClaim): void {
    const severity = SEVERITY_NAMES[claim.rank] ?? "low";
    this.counts[severity] = (this.counts[severity] ?? 0) + 1;
    this.recent.unshift(claim.threat);
    if (this.recent.length > this.recentLimit) this.recent.pop();
    const entry = this.sources.get(claim.source) ?? { threats: 0, highestRank: 0 };
    entry.threats += 1;
    entry.highestRank = Math.max(entry.highestRank, claim.rank);
    this.sources.set(claim.source, entry);
  }

  /** Minute counters older than the previous minute are never read again. */
  private forgetOldMinutes(minute: number): void {
    if (minute <= this.newestMinute) return;
    this.newestMinute = minute;
    for (const slot of this.minutes.keys()) {
      const slotMinute = Number(slot.slice(slot.lastIndexOf("\u0000") + 1));
      if (slotMinute < minute - 1) this.minutes.delete(slot);
    }
  }
}

/** The port over one process's memory: a single replica's whole state (no REDIS_URL). */
export class MemoryThreatStateStore implements ThreatStateStore {
  readonly shared = false;

  constructor(readonly state: LocalThreatState = new LocalThreatState()) {}

  count(ops: readonly CountOp[], observed: number): Promise<CountResult[]> {
    return Promise.resolve(this.state.count(ops, observed));
  }

  claim(claims: readonly ThreatClaim[]): Promise<boolean[]> {
    return Promise.resolve(this.state.claim(claims));
  }

  lockDown(
    lockdown: SharedLockdown,
    _ttlMs: number,
    nowMs: number,
  ): Promise<{ started: boolean; lockdown: SharedLockdown }> {
    return Promise.resolve(this.state.lockDown(lockdown, nowMs));
  }

  lockdown(nowMs: number): Promise<LockdownState> {
    return Promise.resolve(this.state.lockdown(nowMs));
  }

  claimLockdownEnd(id: string, nowMs: number): Promise<boolean> {
    return Promise.resolve(this.state.claimLockdownEnd(id, nowMs));
  }

  clearLockdown(): Promise<void> {
    this.state.clearLockdown();
    return Promise.resolve();
  }

  snapshot(recentLimit: number): Promise<ThreatSnapshot> {
    return Promise.resolve(this.state.snapshot(recentLimit));
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
