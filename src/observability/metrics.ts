import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** How people decided the changes shadow-mode risk would have auto-approved (approval's riskShadowCounts). */
interface RiskShadowCounts {
  agreed: number;
  missedRejections: number;
  undecided: number;
}

export interface EvidenceFigures {
  spoolDepth: number;
  lagSeconds: number;
  appendedTotal: number;
  databaseReachable: boolean;
  /** Records the spool could not write (disk full, read-only): each was rejected, its decision denied. */
  spoolWriteFailuresTotal: number;
}

/** Every metric AEGIS exports, on one registry so tests and replicas do not share globals. */
/** What the checkpointer reports, read at scrape time. */
export interface CheckpointFigures {
  readonly publishFailures: ReadonlyMap<string, number>;
  readonly newestSize: number;
}

export class AegisMetrics {
  readonly registry = new Registry();

  readonly admissions = new Counter({
    name: "aegis_admissions_total",
    help: "Admission decisions by kind and outcome (allowed, denied, error)",
    labelNames: ["kind", "decision"] as const,
    registers: [this.registry],
  });

  readonly admissionDuration = new Histogram({
    name: "aegis_admission_duration_seconds",
    help: "Time to decide one AdmissionReview",
    labelNames: ["kind"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [this.registry],
  });

  /**
   * One answered AdmissionReview (the webhook server's onOutcome): `decision` is allowed, denied,
   * or error when the handler failed and the request was refused with code 500 (the API server
   * then applies the webhook's failurePolicy) — the webhook-error alert counts those.
   */
  observeAdmission(outcome: { kind: string; allowed: boolean; error?: boolean; durationMs: number }): void {
    this.admissions.inc({
      kind: outcome.kind,
      decision: outcome.error ? "error" : outcome.allowed ? "allowed" : "denied",
    });
    this.admissionDuration.observe({ kind: outcome.kind }, outcome.durationMs / 1000);
  }

  readonly policyDecisions = new Counter({
    name: "aegis_policy_decisions_total",
    help: "Gate decisions by policy and decision",
    labelNames: ["policy", "decision"] as const,
    registers: [this.registry],
  });

  readonly breakGlassAdmissions = new Counter({
    name: "aegis_break_glass_total",
    help: "Changes admitted by break-glass, by the policy whose gate was broken",
    labelNames: ["policy"] as const,
    registers: [this.registry],
  });

  /** How people decided what shadow-mode risk would have auto-approved, read at scrape time. */
  private riskShadow: (() => RiskShadowCounts) | undefined;

  readonly riskShadowRequests = this.riskShadowGauge();

  observeRiskShadow(source: () => RiskShadowCounts): void {
    this.riskShadow = source;
  }

  private riskShadowGauge(): Gauge<"outcome"> {
    const read = (): RiskShadowCounts | undefined => this.riskShadow?.();
    return new Gauge({
      name: "aegis_risk_shadow_requests",
      help: "ApprovalRequests that shadow-mode risk would have auto-approved, by how people decided: agreed (approved), missed-rejection (rejected), undecided; auto-approve precision is agreed / (agreed + missed-rejection)",
      labelNames: ["outcome"] as const,
      registers: [this.registry],
      collect() {
        const counts = read();
        if (!counts) return;
        this.set({ outcome: "agreed" }, counts.agreed);
        this.set({ outcome: "missed-rejection" }, counts.missedRejections);
        this.set({ outcome: "undecided" }, counts.undecided);
      },
    });
  }

  /** Break-glass changes awaiting review, read at scrape time. */
  private breakGlassReviews: (() => { pending: number; overdue: number }) | undefined;

  readonly breakGlassUnreviewed = this.breakGlassGauge();

  observeBreakGlassReviews(source: () => { pending: number; overdue: number }): void {
    this.breakGlassReviews = source;
  }

  private breakGlassGauge(): Gauge<"overdue"> {
    const read = (): { pending: number; overdue: number } | undefined => this.breakGlassReviews?.();
    return new Gauge({
      name: "aegis_break_glass_unreviewed",
      help: "Break-glass changes (ApprovalRequests in ReviewRequired) not yet reviewed; overdue=true past their reviewWithin",
      labelNames: ["overdue"] as const,
      registers: [this.registry],
      collect() {
        const figures = read();
        if (!figures) return;
        this.set({ overdue: "false" }, figures.pending - figures.overdue);
        this.set({ overdue: "true" }, figures.overdue);
      },
    });
  }

  /** Counts of ApprovalRequests by phase, read at scrape time. */
  private approvalPhases: (() => Record<string, number>) | undefined;

  readonly approvalRequests = this.phaseGauge();

  /** Where the evidence gauges read from at scrape time (the ledger's own counters). */
  private evidenceSource: (() => EvidenceFigures) | undefined;

  readonly evidenceSpoolDepth = this.evidenceGauge(
    "aegis_evidence_spool_depth",
    "Evidence records waiting in the local spool for PostgreSQL",
    (f) => f.spoolDepth,
  );
  readonly evidenceLag = this.evidenceGauge(
    "aegis_evidence_lag_seconds",
    "Age of the oldest evidence record not yet in PostgreSQL",
    (f) => f.lagSeconds,
  );
  readonly evidenceAppended = this.evidenceGauge(
    "aegis_evidence_records_appended",
    "Evidence records this process appended to the database",
    (f) => f.appendedTotal,
  );
  readonly evidenceDatabaseUp = this.evidenceGauge(
    "aegis_evidence_database_up",
    "1 when the evidence database is reachable",
    (f) => (f.databaseReachable ? 1 : 0),
  );

  readonly evidenceSpoolWriteFailures = this.evidenceCounter(
    "aegis_evidence_spool_write_failures_total",
    "Evidence records the local spool could not write while the database was unavailable (each rejected: its admission denied)",
    (f) => f.spoolWriteFailuresTotal,
  );

  private checkpointSource: (() => CheckpointFigures) | undefined;

  readonly checkpointPublishFailures = new Counter({
    name: "aegis_evidence_checkpoint_publish_failures_total",
    help: "Checkpoints the leader could not publish, by destination (the ConfigMap or a witness URL)",
    labelNames: ["destination"] as const,
    registers: [this.registry],
    collect: () => {
      const figures = this.checkpointSource?.();
      if (!figures) return;
      this.checkpointPublishFailures.reset();
      for (const [destination, count] of figures.publishFailures)
        this.checkpointPublishFailures.inc({ destination }, count);
    },
  });

  readonly checkpointSize = new Gauge({
    name: "aegis_evidence_checkpoint_size",
    help: "Records covered by the newest stored checkpoint this replica saw (-1: none yet)",
    registers: [this.registry],
    collect: () => {
      const figures = this.checkpointSource?.();
      if (figures) this.checkpointSize.set(figures.newestSize);
    },
  });

  observeCheckpoints(source: () => CheckpointFigures): void {
    this.checkpointSource = source;
  }

  readonly selfHealingActions = new Counter({
    name: "aegis_selfhealing_actions_total",
    help: "Self-healing actions by action and result",
    labelNames: ["action", "result"] as const,
    registers: [this.registry],
  });

  private breakerSource: (() => number) | undefined;

  readonly selfHealingBreakerOpen = new Gauge({
    name: "aegis_selfhealing_breaker_open",
    help: "Deployments whose self-healing circuit breaker is open (read by the leader from its workload cache; 0 elsewhere)",
    registers: [this.registry],
    collect: () => {
      this.selfHealingBreakerOpen.set(this.breakerSource?.() ?? 0);
    },
  });

  /** Where aegis_selfhealing_breaker_open reads from at scrape time. */
  observeSelfHealingBreakers(source: () => number): void {
    this.breakerSource = source;
  }

  /** The background audit's latest result counts, per namespace then policy (the leader's; empty elsewhere). */
  private readonly auditResults = new Map<string, ReadonlyMap<string, Readonly<Record<string, number>>>>();

  readonly auditResultsGauge = new Gauge({
    name: "aegis_audit_results",
    help: "Results of the background audit in AEGIS's PolicyReports, by result (pass, fail, warn) and policy (the leader's; none elsewhere)",
    labelNames: ["result", "policy"] as const,
    registers: [this.registry],
    collect: () => {
      this.auditResultsGauge.reset();
      for (const byPolicy of this.auditResults.values())
        for (const [policy, counts] of byPolicy)
          for (const [result, count] of Object.entries(counts)) this.auditResultsGauge.inc({ result, policy }, count);
    },
  });

  private readonly auditUnapproved = new Map<string, number>();

  readonly auditUnapprovedGauge = new Gauge({
    name: "aegis_audit_unapproved_changes",
    help: "Running objects whose spec no approval covers though a policy requires one (the audit's unapproved-change failures; the leader's)",
    registers: [this.registry],
    collect: () => {
      this.auditUnapprovedGauge.set([...this.auditUnapproved.values()].reduce((a, b) => a + b, 0));
    },
  });

  /** A namespace's audit counts after a reconcile; an empty map forgets the namespace. */
  recordAuditResults(
    namespace: string,
    counts: ReadonlyMap<string, Readonly<Record<string, number>>>,
    unapprovedChanges: number,
  ): void {
    if (counts.size === 0) this.auditResults.delete(namespace);
    else this.auditResults.set(namespace, counts);
    if (unapprovedChanges === 0) this.auditUnapproved.delete(namespace);
    else this.auditUnapproved.set(namespace, unapprovedChanges);
  }

  /** Totals by result, and the unapproved-change failures, over every namespace. */
  auditTotals(): { namespaces: number; results: Record<string, number>; unapprovedChanges: number } {
    const results: Record<string, number> = {};
    for (const byPolicy of this.auditResults.values())
      for (const counts of byPolicy.values())
        for (const [result, count] of Object.entries(counts)) results[result] = (results[result] ?? 0) + count;
    const unapprovedChanges = [...this.auditUnapproved.values()].reduce((a, b) => a + b, 0);
    return { namespaces: this.auditResults.size, results, unapprovedChanges };
  }

  readonly leader = new Gauge({
    name: "aegis_leader",
    help: "1 while this replica holds the aegis-controller Lease and runs the controllers",
    registers: [this.registry],
  });

  readonly leaderChanges = new Counter({
    name: "aegis_leader_changes_total",
    help: "Leadership terms this replica started and stopped (transition: started, stopped)",
    labelNames: ["transition"] as const,
    registers: [this.registry],
  });

  /** This replica became leader (the elector's onStartedLeading). */
  leadershipStarted(): void {
    this.leader.set(1);
    this.leaderChanges.inc({ transition: "started" });
  }

  /** This replica stopped leading (the elector's onStoppedLeading). */
  leadershipStopped(): void {
    this.leader.set(0);
    this.auditResults.clear();
    this.auditUnapproved.clear();
    this.leaderChanges.inc({ transition: "stopped" });
  }

  readonly accessSessions = new Counter({
    name: "aegis_access_sessions_total",
    help: "exec, attach and port-forward tries into pods an access policy gates, by action and outcome (allowed: an approved AccessRequest let the session start)",
    labelNames: ["action", "decision"] as const,
    registers: [this.registry],
  });

  readonly threats = new Counter({
    name: "aegis_threats_total",
    help: "Threat events by severity",
    labelNames: ["severity"] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    // Both series exist from the first scrape: a replica that never led shows 0, not nothing.
    this.leader.set(0);
    for (const transition of ["started", "stopped"]) this.leaderChanges.inc({ transition }, 0);
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: "aegis_" });
  }

  observeApprovalPhases(source: () => Record<string, number>): void {
    this.approvalPhases = source;
  }

  private phaseGauge(): Gauge<"phase"> {
    const readPhases = (): Record<string, number> | undefined => this.approvalPhases?.();
    return new Gauge({
      name: "aegis_approval_requests",
      help: "ApprovalRequests by phase, from the informer cache",
      labelNames: ["phase"] as const,
      registers: [this.registry],
      collect() {
        const phases = readPhases();
        if (!phases) return;
        this.reset();
        for (const [phase, count] of Object.entries(phases)) this.set({ phase }, count);
      },
    });
  }

  observeEvidence(source: () => EvidenceFigures): void {
    this.evidenceSource = source;
  }

  // A counter whose value is the ledger's own (monotonic) count, read at scrape time.
  private evidenceCounter(name: string, help: string, pick: (figures: EvidenceFigures) => number): Counter {
    const readFigures = (): EvidenceFigures | undefined => this.evidenceSource?.();
    return new Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        const figures = readFigures();
        if (!figures) return;
        this.reset();
        this.inc(pick(figures));
      },
    });
  }

  private evidenceGauge(name: string, help: string, pick: (figures: EvidenceFigures) => number): Gauge {
    // The source is attached after construction and read at scrape time.
    const readFigures = (): EvidenceFigures | undefined => this.evidenceSource?.();
    return new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        const figures = readFigures();
        if (figures) this.set(pick(figures));
      },
    });
  }
}
