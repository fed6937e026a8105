// The threat detector the gate feeds: runs every detector on each observation, keeps the
// counts, recent threats and top sources that /api/security/status shows, and decides lockdown.
//
// Lockdown (decision): it turns on automatically when a high or critical threat fires and turns
// off after `lockdownMs` without another one; an operator can also force it on or off
// (`setManualLockdown`, wired to whatever main.ts watches, e.g. an annotation). While on,
// `extraApprovals()` asks for more approvals, which the gate and approval rules already add.
import {
  denialBurstDetector,
  newRegistryDetector,
  offHoursDetector,
  privilegedBurstDetector,
  rateAnomalyDetector,
} from "./detectors.js";
import {
  severityRank,
  SEVERITIES,
  type AdmissionObservation,
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
}

export interface ThreatDetectorOptions {
  readonly detectors?: readonly Detector[];
  /** Called once per threat (record evidence, bump the metric, publish). Errors are the hook's to handle. */
  readonly onThreat?: (threat: Threat) => void;
  /** Called when the mode changes. */
  readonly onModeChange?: (mode: SecurityMode, reason: string) => void;
  readonly now?: () => Date;
  /** Severity from which lockdown turns on by itself. Default high. */
  readonly lockdownAt?: Severity;
  /** Automatic lockdown ends this long after the last threat that caused it. Default 1 h. */
  readonly lockdownMs?: number;
  /** Approvals added in lockdown. Default 1. */
  readonly lockdownExtraApprovals?: number;
  readonly recentLimit?: number;
}

interface Lockdown {
  since: Date;
  until: Date | null;
  reason: string;
  manual: boolean;
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

const zeroCounts = (): Record<Severity, number> => ({ low: 0, medium: 0, high: 0, critical: 0 });

export class ThreatDetector {
  private readonly detectors: readonly Detector[];
  private readonly now: () => Date;
  private readonly recent: Threat[] = [];
  private readonly counts = zeroCounts();
  private readonly sources = new Map<string, { source: ThreatSource; threats: number; highest: Severity }>();
  private lockdown: Lockdown | null = null;
  private observed = 0;

  constructor(private readonly options: ThreatDetectorOptions = {}) {
    this.detectors = options.detectors ?? defaultDetectors();
    this.now = options.now ?? ((): Date => new Date());
  }

  /** Folds one admission decision in; returns the threats it raised (already counted and hooked). */
  observe(observation: AdmissionObservation): Threat[] {
    this.observed += 1;
    const threats = this.detectors.flatMap((detector) => detector.observe(observation));
    threats.forEach((threat) => this.raise(threat));
    return threats;
  }

  /** Approvals the gate adds to minApprovals now. */
  extraApprovals(): number {
    return this.mode() === "lockdown" ? (this.options.lockdownExtraApprovals ?? 1) : 0;
  }

  mode(): SecurityMode {
    this.expireLockdown();
    return this.lockdown ? "lockdown" : "normal";
  }

  /**
   * Operator override, idempotent (call it on every change of its source): a reason holds
   * lockdown on until cleared; null ends a manual lockdown and leaves an automatic one running.
   */
  setManualLockdown(reason: string | null): void {
    const before = this.mode();
    if (reason === null && !this.lockdown?.manual) return;
    if (reason !== null && this.lockdown?.manual && this.lockdown.reason === reason) return;
    this.lockdown = reason === null ? null : { since: this.now(), until: null, reason, manual: true };
    this.announceMode(before, reason ?? "lockdown cleared by an operator");
  }

  /** Ends any lockdown, automatic or manual (an operator decided the threat is handled). */
  clearLockdown(): void {
    const before = this.mode();
    this.lockdown = null;
    this.announceMode(before, "lockdown cleared by an operator");
  }

  status(): SecurityStatus {
    const mode = this.mode();
    const lockdown = this.lockdown && {
      since: this.lockdown.since.toISOString(),
      until: this.lockdown.until?.toISOString() ?? null,
      reason: this.lockdown.reason,
      manual: this.lockdown.manual,
    };
    const topSources = [...this.sources.values()]
      .sort((a, b) => b.threats - a.threats || severityRank(b.highest) - severityRank(a.highest))
      .slice(0, 10)
      .map(({ source, threats, highest }) => ({ type: source.type, name: source.name, threats, highest }));
    return {
      mode,
      lockdown,
      extraApprovals: this.extraApprovals(),
      observed: this.observed,
      counts: { ...this.counts },
      recent: [...this.recent].reverse(),
      topSources,
    };
  }

  private raise(threat: Threat): void {
    this.counts[threat.severity] += 1;
    this.recent.push(threat);
    if (this.recent.length > (this.options.recentLimit ?? 50)) this.recent.shift();
    this.countSource(threat);
    if (severityRank(threat.severity) >= severityRank(this.options.lockdownAt ?? "high")) this.lockDown(threat);
    this.options.onThreat?.(threat);
  }

  private countSource(threat: Threat): void {
    const key = `${threat.source.type}/${threat.source.name}`;
    const entry = this.sources.get(key) ?? { source: threat.source, threats: 0, highest: SEVERITIES[0] };
    entry.threats += 1;
    if (severityRank(threat.severity) > severityRank(entry.highest)) entry.highest = threat.severity;
    this.sources.set(key, entry);
  }

  private lockDown(threat: Threat): void {
    const before = this.mode();
    if (this.lockdown?.manual) return;
    const until = new Date(this.now().getTime() + (this.options.lockdownMs ?? 3_600_000));
    this.lockdown = {
      since: this.lockdown?.since ?? this.now(),
      until,
      reason: `${threat.severity} threat: ${threat.message}`,
      manual: false,
    };
    this.announceMode(before, this.lockdown.reason);
  }

  private expireLockdown(): void {
    if (this.lockdown?.until && this.now() >= this.lockdown.until) {
      this.lockdown = null;
      this.options.onModeChange?.("normal", "lockdown expired");
    }
  }

  private announceMode(before: SecurityMode, reason: string): void {
    const after = this.lockdown ? "lockdown" : "normal";
    if (after !== before) this.options.onModeChange?.(after, reason);
  }
}
