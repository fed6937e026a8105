// The threat detector the gate feeds. Observations are counted in a ThreatStateStore (Redis,
// shared by every replica, or this process's memory) off the admission path; the detectors
// decide on the store's answers (pure), the store's cooldown claims make each threat raised on
// one replica, and a high or critical threat starts (or extends) the automatic lockdown in the
// store. The gate's `extraApprovals()` is synchronous and never waits for the store: it reads the
// lockdown this replica last read, refreshed by `refresh()` (a bus hint and a poll, src/wiring).
//
// Store outages (decision, docs/security.md): fail safe. The last lockdown read holds, past its
// end if need be; observations are still counted in this replica's own windows and decided on
// them; a lockdown they start holds on this replica and is written to the store once it answers.
import type { CountOp, CountResult, SharedLockdown, ThreatSnapshot, ThreatStateStore } from "../ports/threat-state.js";
import {
  claimOf,
  denialBurstDetector,
  newRegistryDetector,
  offHoursDetector,
  privilegedBurstDetector,
  rateAnomalyDetector,
} from "./detectors.js";
import {
  effectiveLockdown,
  extendLockdown,
  lockdownFor,
  type LockdownScope,
  type LockdownView,
  type ManualLockdown,
  viewOf,
} from "./lockdown.js";
import { LocalThreatState, MemoryThreatStateStore } from "./memory-state.js";
import {
  severityRank,
  SEVERITIES,
  type AdmissionObservation,
  type Candidate,
  type Detector,
  type Severity,
  type Threat,
  type ThreatSource,
} from "./types.js";

export type SecurityMode = "normal" | "lockdown";

export interface SecurityStatus {
  readonly mode: SecurityMode;
  readonly lockdown: {
    readonly since: string;
    readonly until: string | null;
    readonly reason: string;
    readonly manual: boolean;
    /** manual (annotation), cluster (the shared lockdown), replica (this replica's, store unreachable). */
    readonly scope: LockdownScope;
    /** The shared lockdown as last read before the store stopped answering. */
    readonly stale: boolean;
  } | null;
  readonly extraApprovals: number;
  readonly observed: number;
  readonly counts: Readonly<Record<Severity, number>>;
  readonly recent: readonly Threat[];
  readonly topSources: readonly {
    readonly type: ThreatSource["type"];
    readonly name: string;
    readonly threats: number;
    readonly highest: Severity;
  }[];
  /** Where these figures come from. */
  readonly state: {
    /** shared: every replica's (Redis); memory: this process only. */
    readonly store: "shared" | "memory";
    /** false while the store does not answer: figures are this replica's own, the lockdown the last read. */
    readonly healthy: boolean;
    readonly degradedSince: string | null;
    /** When this replica last read the shared lockdown. */
    readonly lockdownReadAt: string | null;
  };
}

export type LockdownTransition = "started" | "ended";

export interface ThreatDetectorOptions {
  readonly detectors?: readonly Detector[];
  /** Where counts, cooldowns, threats and the lockdown live. Default: this process's memory. */
  readonly store?: ThreatStateStore;
  /** This replica's identity: unique window entries, the lockdown's origin. Default "local". */
  readonly replica?: string;
  /** Called once per threat across replicas (record evidence, bump the metric, publish). */
  readonly onThreat?: (threat: Threat) => void;
  /** Called when this replica's mode changes (each replica, for its log). */
  readonly onModeChange?: (mode: SecurityMode, reason: string) => void;
  /**
   * An automatic lockdown started or ended, called on one replica per transition (the one whose
   * SET NX, or end claim, won): record evidence here. A `replica`-scoped one is this replica's
   * own, decided while the store was unreachable.
   */
  readonly onLockdown?: (transition: LockdownTransition, lockdown: LockdownView) => void;
  /** This replica wrote the shared lockdown (start or extension): hint the others to re-read it. */
  readonly onLockdownWritten?: (lockdown: SharedLockdown) => void;
  /** The store stopped (false) or started again (true) answering: log once per outage. */
  readonly onStoreHealth?: (healthy: boolean, error?: unknown) => void;
  /** A detector or hook failed on an observation. */
  readonly onError?: (error: unknown) => void;
  readonly now?: () => Date;
  /** Severity from which lockdown turns on by itself. Default high. */
  readonly lockdownAt?: Severity;
  /** Automatic lockdown ends this long after the last threat that caused it (the key's TTL). Default 1 h. */
  readonly lockdownMs?: number;
  /** Approvals added in lockdown. Default 1. */
  readonly lockdownExtraApprovals?: number;
  readonly recentLimit?: number;
  /** Observations waiting for the store; beyond it the oldest are left out of the shared counts. Default 10 000. */
  readonly maxQueue?: number;
}

export function defaultDetectors(knownRegistries: readonly string[] = []): Detector[] {
  return [
    denialBurstDetector(),
    privilegedBurstDetector(),
    rateAnomalyDetector("user"),
    rateAnomalyDetector("namespace"),
    offHoursDetector(),
    newRegistryDetector({ known: knownRegistries, learningMs: 10 * 60_000 }),
  ];
}

export interface ThreatDetectorStats {
  /** Store calls that failed (timeouts, connection refused). */
  readonly storeErrors: number;
  /** Observations left out of the shared counts because the queue was full. */
  readonly dropped: number;
  readonly healthy: boolean;
  readonly queued: number;
}

interface Pending {
  readonly observation: AdmissionObservation;
  /** Per detector, in order. */
  readonly ops: readonly (readonly CountOp[])[];
  /** The same ops counted in this replica's own windows (shared store only). */
  readonly local: readonly CountResult[] | undefined;
}

const BATCH = 256;
const emptySnapshot: ThreatSnapshot = { observed: 0, counts: {}, recent: [], topSources: [] };

export class ThreatDetector {
  private readonly detectors: readonly Detector[];
  private readonly now: () => Date;
  private readonly store: ThreatStateStore;
  /** This replica's own windows beside a shared store; null when the store is this memory. */
  private readonly local: LocalThreatState | null;
  private readonly replica: string;
  private readonly recentLimit: number;
  private queue: Pending[] = [];
  private pumping: Promise<void> | null = null;
  private refreshing: Promise<void> | null = null;
  private refreshAgain = false;
  private sequence = 0;
  private manual: ManualLockdown | null = null;
  /** The shared lockdown as last read or written. */
  private shared: SharedLockdown | null = null;
  /** This replica's lockdown, decided while the store was unreachable. */
  private localLockdown: SharedLockdown | null = null;
  private healthy = true;
  private degradedSinceMs: number | null = null;
  private lockdownReadAtMs: number | null = null;
  private announced: SecurityMode = "normal";
  private readonly endsHandled = new Set<string>();
  private storeErrors = 0;
  private dropped = 0;

  constructor(private readonly options: ThreatDetectorOptions = {}) {
    this.detectors = options.detectors ?? defaultDetectors();
    this.now = options.now ?? ((): Date => new Date());
    this.recentLimit = options.recentLimit ?? 50;
    this.store = options.store ?? new MemoryThreatStateStore(new LocalThreatState(this.recentLimit));
    this.local = this.store.shared ? new LocalThreatState(this.recentLimit) : null;
    this.replica = options.replica ?? "local";
  }

  /**
   * Takes one admission decision in; returns at once. Counting (a store round trip) and deciding
   * happen in the background, in order; `flush()` waits for them.
   */
  observe(observation: AdmissionObservation): void {
    this.sequence += 1;
    const member = `${this.replica}:${this.sequence}`;
    const ops = this.detectors.map((detector) => detector.plan(observation, member));
    const local = this.local?.count(ops.flat(), 1);
    this.queue.push({ observation, ops, local });
    if (this.queue.length > (this.options.maxQueue ?? 10_000)) {
      this.queue.shift();
      this.dropped += 1;
    }
    void this.pump();
  }

  /** Resolves once every observation so far is counted and decided. */
  async flush(): Promise<void> {
    while (this.pumping) await this.pumping;
  }

  /** Approvals the gate adds to minApprovals now (no I/O). */
  extraApprovals(): number {
    return this.mode() === "lockdown" ? (this.options.lockdownExtraApprovals ?? 1) : 0;
  }

  mode(): SecurityMode {
    this.checkMode();
    return this.announced;
  }

  lockdown(): LockdownView | null {
    this.checkMode();
    return this.lockdownView(this.now().getTime());
  }

  /**
   * Re-reads the shared lockdown (call it on a bus hint and every second). Concurrent calls
   * share one read, and one more after it when asked meanwhile.
   */
  refresh(): Promise<void> {
    if (this.refreshing) {
      this.refreshAgain = true;
      return this.refreshing;
    }
    this.refreshing = (async () => {
      try {
        do {
          this.refreshAgain = false;
          await this.readLockdown();
        } while (this.refreshAgain);
      } finally {
        this.refreshing = null;
      }
    })();
    return this.refreshing;
  }

  /**
   * Operator override, idempotent (call it on every change of its source): a reason holds
   * lockdown on until cleared; null ends a manual lockdown and leaves an automatic one running.
   */
  setManualLockdown(reason: string | null): void {
    if (reason === (this.manual?.reason ?? null)) return;
    this.manual = reason === null ? null : { reason, sinceMs: this.now().getTime() };
    this.checkMode();
  }

  /** Ends any lockdown, automatic (on every replica) or manual (an operator decided the threat is handled). */
  async clearLockdown(): Promise<void> {
    this.manual = null;
    this.localLockdown = null;
    this.shared = null;
    await this.tryStore(() => this.store.clearLockdown());
    this.checkMode();
    await this.refresh();
  }

  async status(): Promise<SecurityStatus> {
    await this.refresh();
    const snapshot =
      (await this.tryStore(() => this.store.snapshot(this.recentLimit))) ??
      this.local?.snapshot(this.recentLimit) ??
      emptySnapshot;
    const nowMs = this.now().getTime();
    const mode = this.mode();
    const view = this.lockdownView(nowMs);
    const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
    return {
      mode,
      lockdown: view && {
        since: new Date(view.sinceMs).toISOString(),
        until: iso(view.untilMs),
        reason: view.reason,
        manual: view.scope === "manual",
        scope: view.scope,
        stale: view.stale,
      },
      extraApprovals: this.extraApprovals(),
      observed: snapshot.observed,
      counts: Object.fromEntries(SEVERITIES.map((severity) => [severity, snapshot.counts[severity] ?? 0])) as Record<
        Severity,
        number
      >,
      recent: snapshot.recent as unknown as Threat[],
      topSources: snapshot.topSources.map(({ source, threats, highestRank }) => {
        const slash = source.indexOf("/");
        return {
          type: source.slice(0, slash) as ThreatSource["type"],
          name: source.slice(slash + 1),
          threats,
          highest: SEVERITIES[highestRank] ?? "low",
        };
      }),
      state: {
        store: this.store.shared ? "shared" : "memory",
        healthy: this.healthy,
        degradedSince: iso(this.degradedSinceMs),
        lockdownReadAt: iso(this.lockdownReadAtMs),
      },
    };
  }

  stats(): ThreatDetectorStats {
    return { storeErrors: this.storeErrors, dropped: this.dropped, healthy: this.healthy, queued: this.queue.length };
  }

  private pump(): Promise<void> {
    this.pumping ??= (async () => {
      try {
        while (this.queue.length > 0) await this.process(this.queue.splice(0, BATCH));
      } finally {
        this.pumping = null;
      }
    })();
    return this.pumping;
  }

  private async process(batch: readonly Pending[]): Promise<void> {
    try {
      const nowMs = this.now().getTime();
      const ops = batch.flatMap((pending) => pending.ops.flat());
      const counted = await this.tryStore(() => this.store.count(ops, batch.length));
      const sharedPath = counted !== undefined;
      const results = counted ?? batch.flatMap((pending) => pending.local ?? []);
      const candidates = this.decide(batch, results);
      if (candidates.length === 0) return;
      const threats = await this.raise(candidates, sharedPath);
      const trigger = threats.find(
        (threat) => severityRank(threat.severity) >= severityRank(this.options.lockdownAt ?? "high"),
      );
      if (trigger) await this.lockDown(lockdownFor(trigger, nowMs, this.lockdownMs(), this.replica), nowMs, sharedPath);
    } catch (error) {
      this.options.onError?.(error);
    }
  }

  private decide(batch: readonly Pending[], results: readonly CountResult[]): Candidate[] {
    const candidates: Candidate[] = [];
    let offset = 0;
    for (const pending of batch) {
      pending.ops.forEach((ops, index) => {
        const answers = results.slice(offset, offset + ops.length);
        offset += ops.length;
        const detector = this.detectors[index];
        if (!detector) return;
        try {
          candidates.push(...detector.decide(pending.observation, answers));
        } catch (error) {
          this.options.onError?.(error);
        }
      });
    }
    return candidates;
  }

  /** Claims the candidates' cooldown slots (shared, else this replica's); hooks the raised threats. */
  private async raise(candidates: readonly Candidate[], sharedPath: boolean): Promise<Threat[]> {
    const claims = candidates.map(claimOf);
    let raised = sharedPath ? await this.tryStore(() => this.store.claim(claims)) : undefined;
    if (raised) {
      const won = raised;
      this.local?.claim(
        claims.filter((_, index) => won[index]),
        true,
      );
    } else {
      raised = this.local ? this.local.claim(claims) : claims.map(() => false);
    }
    const won = raised;
    const threats = candidates.filter((_, index) => won[index]).map((candidate) => candidate.threat);
    for (const threat of threats) {
      try {
        this.options.onThreat?.(threat);
      } catch (error) {
        this.options.onError?.(error);
      }
    }
    return threats;
  }

  private async lockDown(wanted: SharedLockdown, nowMs: number, sharedPath: boolean): Promise<void> {
    if (sharedPath && (await this.writeShared(wanted, nowMs))) return;
    const before = this.localLockdown && nowMs < this.localLockdown.untilMs ? this.localLockdown : null;
    this.localLockdown = extendLockdown(before, wanted, nowMs);
    if (!before) this.announceLockdown("started", viewOf(this.localLockdown, "replica"));
    this.checkMode();
  }

  /** SET NX or extend in the store; false when the store did not answer. */
  private async writeShared(wanted: SharedLockdown, nowMs: number): Promise<boolean> {
    const written = await this.tryStore(() => this.store.lockDown(wanted, this.lockdownMs(), nowMs));
    if (!written) return false;
    this.shared = written.lockdown;
    this.lockdownReadAtMs = nowMs;
    this.options.onLockdownWritten?.(written.lockdown);
    // A lockdown this replica started alone during an outage was recorded already (same id).
    const recordedAlready = this.localLockdown?.id === written.lockdown.id;
    if (written.started && !recordedAlready) this.announceLockdown("started", viewOf(written.lockdown, "cluster"));
    this.checkMode();
    return true;
  }

  private async readLockdown(): Promise<void> {
    const nowMs = this.now().getTime();
    const state = await this.tryStore(() => this.store.lockdown(nowMs));
    if (!state) return this.checkMode();
    const previous = this.shared;
    this.shared = state.current;
    this.lockdownReadAtMs = nowMs;
    // What this replica decided alone while the store was away now holds for every replica.
    const own = this.localLockdown;
    if (own && nowMs < own.untilMs && (await this.writeShared(own, nowMs))) this.localLockdown = null;
    // Ended lockdowns: the store's latest, and the one this replica knew (a Redis that came back
    // empty no longer has it). The end claim is one SET NX per id across replicas.
    const ended = [state.last && !state.lastEndClaimed ? state.last : null, previous].filter(
      (lockdown): lockdown is SharedLockdown =>
        lockdown !== null && lockdown.id !== state.current?.id && !this.endsHandled.has(lockdown.id),
    );
    for (const lockdown of new Map(ended.map((entry) => [entry.id, entry])).values()) {
      const won = await this.tryStore(() => this.store.claimLockdownEnd(lockdown.id, nowMs));
      if (won !== undefined) this.endsHandled.add(lockdown.id);
      if (won) this.announceLockdown("ended", viewOf(lockdown, "cluster"));
    }
    this.checkMode();
  }

  private lockdownView(nowMs: number): LockdownView | null {
    return effectiveLockdown({
      manual: this.manual,
      shared: this.shared,
      local: this.localLockdown,
      storeHealthy: this.healthy,
      nowMs,
    });
  }

  /** Ends this replica's own lockdown when due, and tells onModeChange about a new mode. */
  private checkMode(): void {
    const nowMs = this.now().getTime();
    const own = this.localLockdown;
    if (own && nowMs >= own.untilMs) {
      this.localLockdown = null;
      this.announceLockdown("ended", viewOf(own, "replica"));
    }
    const view = this.lockdownView(nowMs);
    const mode: SecurityMode = view ? "lockdown" : "normal";
    if (mode === this.announced) return;
    this.announced = mode;
    try {
      this.options.onModeChange?.(mode, view?.reason ?? "lockdown ended");
    } catch (error) {
      this.options.onError?.(error);
    }
  }

  private announceLockdown(transition: LockdownTransition, lockdown: LockdownView): void {
    try {
      this.options.onLockdown?.(transition, lockdown);
    } catch (error) {
      this.options.onError?.(error);
    }
  }

  private lockdownMs(): number {
    return this.options.lockdownMs ?? 3_600_000;
  }

  private async tryStore<T>(call: () => Promise<T>): Promise<T | undefined> {
    try {
      const value = await call();
      if (!this.healthy) {
        this.healthy = true;
        this.degradedSinceMs = null;
        this.options.onStoreHealth?.(true);
      }
      return value;
    } catch (error) {
      this.storeErrors += 1;
      if (this.healthy) {
        this.healthy = false;
        this.degradedSinceMs = this.now().getTime();
        this.options.onStoreHealth?.(false, error);
      }
      return undefined;
    }
  }
}
