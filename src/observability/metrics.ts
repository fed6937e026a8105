import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

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

  readonly policyDecisions = new Counter({
    name: "aegis_policy_decisions_total",
    help: "Gate decisions by policy and decision",
    labelNames: ["policy", "decision"] as const,
    registers: [this.registry],
  });

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

  readonly threats = new Counter({
    name: "aegis_threats_total",
    help: "Threat events by severity",
    labelNames: ["severity"] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
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
