/**
 * The threat detector's state, shared by every replica (Redis) or held by one (memory): sliding
 * windows and minute counters the detectors count in, the cooldown slots that make a threat
 * raised once, the threats status shows, and the automatic lockdown. Decisions stay with the
 * detector (src/threats): a store only counts, claims and remembers, each call atomic across
 * replicas, its answers in the order of the operations it was given.
 */

/** Adds one event (`member`, unique per observation) to the window `key` and counts what is in it. */
export interface WindowOp {
  readonly op: "window";
  readonly key: string;
  readonly atMs: number;
  readonly windowMs: number;
  readonly member: string;
}

/** One more request in `minute` (epoch minutes) for `key`. */
export interface MinuteOp {
  readonly op: "minute";
  readonly key: string;
  readonly minute: number;
}

/** `member` seen in the set `key`; the set remembers when it was first used (learning periods). */
export interface FirstSeenOp {
  readonly op: "first-seen";
  readonly key: string;
  readonly member: string;
  readonly atMs: number;
}

export type CountOp = WindowOp | MinuteOp | FirstSeenOp;

/** Events in the window after this one was added, and the oldest one's time (threat ids). */
export interface WindowCount {
  readonly op: "window";
  readonly count: number;
  readonly firstMs: number;
}

/** Requests in the minute after this one, and in the minute before (the rate baseline). */
export interface MinuteCount {
  readonly op: "minute";
  readonly count: number;
  readonly previous: number;
}

/** Whether this call added the member first, across replicas; when the set was started. */
export interface FirstSeen {
  readonly op: "first-seen";
  readonly novel: boolean;
  readonly sinceMs: number;
}

export type CountResult = WindowCount | MinuteCount | FirstSeen;

/**
 * A threat a detector wants raised. The store raises it (and remembers it for status) when its
 * cooldown slot is free: nothing claimed `key` in the last `periodMs`, or only at a lower `rank`.
 */
export interface ThreatClaim {
  /** Cooldown slot, e.g. `denial-burst:user:mallory`. */
  readonly key: string;
  /** Severity rank (low 0 … critical 3). */
  readonly rank: number;
  readonly atMs: number;
  /** 0: no cooldown (the detector is once-only by itself). */
  readonly periodMs: number;
  /** Top-sources entry, `type/name`. */
  readonly source: string;
  /** The threat as status shows it (JSON). */
  readonly threat: Readonly<Record<string, unknown>>;
}

/** An automatic lockdown as every replica sees it. */
export interface SharedLockdown {
  /** Stable for the whole lockdown (extensions keep it): the evidence ids derive from it. */
  readonly id: string;
  readonly sinceMs: number;
  readonly untilMs: number;
  readonly reason: string;
  /** The replica that started it. */
  readonly origin: string;
}

export interface LockdownState {
  /** The running lockdown, or null. */
  readonly current: SharedLockdown | null;
  /** The latest lockdown, running or ended (so that its end is recorded even by a replica that never saw it). */
  readonly last: SharedLockdown | null;
  /** Whether some replica already claimed the end of `last`. */
  readonly lastEndClaimed: boolean;
}

export interface ThreatSnapshot {
  readonly observed: number;
  /** Raised threats by severity name. */
  readonly counts: Readonly<Record<string, number>>;
  /** Newest first. */
  readonly recent: readonly Readonly<Record<string, unknown>>[];
  /** Most threats first, then highest severity rank. */
  readonly topSources: readonly { readonly source: string; readonly threats: number; readonly highestRank: number }[];
}

export interface ThreatStateStore {
  /** True when other replicas share this state (Redis); false for one process's memory. */
  readonly shared: boolean;
  /** Applies the operations in order, atomically; `observed` observations are counted for status. */
  count(ops: readonly CountOp[], observed: number): Promise<CountResult[]>;
  /** Claims each threat's cooldown slot in order, atomically; true: raised (remembered for status). */
  claim(claims: readonly ThreatClaim[]): Promise<boolean[]>;
  /**
   * Starts the lockdown when none runs (SET NX: `started` is true for exactly one caller across
   * replicas), else extends the running one to `lockdown.untilMs` when that is later. Either way
   * the lockdown ends by itself `ttlMs` after the latest call (a key with a TTL).
   */
  lockDown(
    lockdown: SharedLockdown,
    ttlMs: number,
    nowMs: number,
  ): Promise<{ started: boolean; lockdown: SharedLockdown }>;
  lockdown(nowMs: number): Promise<LockdownState>;
  /** True for exactly one caller per lockdown id, once that lockdown no longer runs. */
  claimLockdownEnd(id: string, nowMs: number): Promise<boolean>;
  /** Ends the running lockdown now (an operator). */
  clearLockdown(): Promise<void>;
  snapshot(recentLimit: number): Promise<ThreatSnapshot>;
  close(): Promise<void>;
}
