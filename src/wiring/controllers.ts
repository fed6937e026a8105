import { CoordinationV1Api, type KubeConfig } from "@kubernetes/client-node";
import {
  KubeAegisExceptionActions,
  KubeAegisPolicyActions,
  KubeApprovalRequestActions,
} from "../adapters/kube/status-writers.js";
import type { KubeCaches } from "../adapters/kube/caches.js";
import type { CompiledPolicy } from "../policy/index.js";
import { KubeWorkloadActions, type WorkloadCaches } from "../adapters/kube/workloads.js";
import { buildSelfHealingController, SELF_HEALING_CONTROLLER } from "../reconcilers/self-healing-controller.js";
import {
  anyApprovals,
  approvalRequestApprovals,
  type ApprovedChanges,
  type HealingTuning,
} from "../selfhealing/index.js";
import { controllerForHint, publishingApprovalActions, publishingPolicyActions } from "../bus/resource-hints.js";
import type { ServeConfig } from "./config.js";
import type { EventBus } from "../ports/bus.js";
import type { EvidenceRecorder } from "../ports/evidence.js";
import type { AegisMetrics } from "../observability/metrics.js";
import { reconcileAegisPolicy } from "../reconcilers/aegis-policy.js";
import { openBreakers, workloadViews } from "../reconcilers/self-healing.js";
import { reconcileApprovalRequest } from "../reconcilers/approval-request.js";
import { EXCEPTION_CONTROLLER, reconcileAegisException } from "../reconcilers/aegis-exception.js";
import { EXCEPTION_TARGET_KIND } from "../approval/index.js";
import { activeExceptions } from "../exceptions/index.js";
import { approvalRequestSchema } from "../api/v1alpha1/index.js";
import { Controller } from "../runtime/controller.js";
import { defaultIdentity, LeaderElector } from "../runtime/leader-election.js";
import type { Logger } from "../ports/logger.js";
import type { PolicyReportStore } from "../ports/reports.js";
import { AUDIT_CONTROLLER, reconcileAudit, type AuditDependencies } from "../reconcilers/audit.js";

export const LEADER_LEASE_NAME = "aegis-controller";
const DECIDED_REQUEST_RETENTION_MS = 7 * 24 * 3_600_000;

export interface ControllerDependencies {
  kubeConfig: KubeConfig;
  config: ServeConfig;
  caches: KubeCaches<CompiledPolicy>;
  ledger: EvidenceRecorder;
  metrics: AegisMetrics;
  logger: Logger;
  /** AEGIS's own username, the actor of controller evidence. */
  identity: string;
  now: () => Date;
  extraApprovals: () => number;
  /** The leader publishes transitions here and enqueues keys other replicas hint at. */
  bus?: EventBus;
  /** This replica's Lease identity (default: a fresh one); also the bus's origin. */
  replica?: string;
  /**
   * Makes the Deployment, ReplicaSet and Pod caches self-healing reads; absent: no self-healing
   * controller. Called once per leadership term, so only the leader holds every Pod in memory.
   */
  createWorkloads?: () => WorkloadCaches;
  /** Where rollbacks learn which revisions were approved (default: Approved ApprovalRequests in the cache). */
  approvedChanges?: ApprovedChanges;
  healingTuning?: HealingTuning;
  /** The background audit's PolicyReports; absent: no audit. Runs on the leader over the workload caches. */
  audit?: {
    reports: PolicyReportStore;
    /** What counts as approved for `unapproved-change` (default: approvedChanges). */
    approved?: ApprovedChanges;
    onResults?: AuditDependencies["onResults"];
    resyncMs?: number;
  };
}

export interface RunningControllers {
  elector: LeaderElector;
  stop(): Promise<void>;
}

/**
 * Every replica runs the informers; only the leader of the `aegis-controller` Lease runs the
 * reconcilers. Controllers are built fresh on each leadership term and drained before the
 * Lease is released, so two terms never overlap within one process.
 */
export function startControllers(deps: ControllerDependencies): RunningControllers {
  const replica = deps.replica ?? defaultIdentity();
  let running: Controller[] = [];
  let workloads: WorkloadCaches | undefined;
  const enqueueHealing = (key: string): void => {
    for (const controller of running) if (controller.name === SELF_HEALING_CONTROLLER) controller.enqueue(key);
  };
  const enqueueAudit = (namespace: string): void => {
    for (const controller of running) if (controller.name === AUDIT_CONTROLLER) controller.enqueue(namespace);
  };
  const elector = new LeaderElector({
    api: deps.kubeConfig.makeApiClient(CoordinationV1Api),
    namespace: deps.config.namespace,
    name: LEADER_LEASE_NAME,
    identity: replica,
    // 15 s lease and 10 s renew deadline as client-go; a 1 s retry keeps a takeover after a
    // crashed leader (lease expiry + one jittered retry) inside 20 s.
    leaseDurationSeconds: 15,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 1_000,
    logger: deps.logger,
    onStartedLeading: async (signal) => {
      deps.metrics.leadershipStarted();
      running = buildControllers(deps, replica);
      running.forEach((controller) => controller.start());
      deps.logger.info({ replica }, "leading: controllers started");
      if (deps.createWorkloads) await startHealing(deps.createWorkloads(), signal);
    },
    onStoppedLeading: async () => {
      deps.metrics.leadershipStopped();
      const stopping = running;
      const stoppingWorkloads = workloads;
      running = [];
      workloads = undefined;
      await Promise.all(stopping.map((controller) => controller.stop()));
      await Promise.all((stoppingWorkloads?.informers ?? []).map((informer) => informer.stop()));
      deps.logger.info({ replica }, "no longer leading: controllers stopped");
    },
  });
  // Open breakers are read from this term's workload cache at scrape time (none when not leading).
  deps.metrics.observeSelfHealingBreakers(() =>
    workloads
      ? openBreakers(workloads.deploymentKeys(), {
          workloads: workloadViews(workloads.source),
          policies: deps.caches.policies,
          namespaceLabels: deps.caches.namespaceLabels,
        })
      : 0,
  );
  deps.caches.onChange((kind, object) => {
    const { name = "", namespace } = object.metadata ?? {};
    const key = namespace ? `${namespace}/${name}` : name;
    for (const controller of running) {
      if (controller.name === kind) controller.enqueue(key);
      // A policy change can start or stop healing any Deployment.
      if (kind === "AegisPolicy" && controller.name === SELF_HEALING_CONTROLLER)
        workloads?.deploymentKeys().forEach((k) => controller.enqueue(k));
      // A decision on an exception's request, or a change of the policies it waives, moves its standing.
      if (kind === "ApprovalRequest" && controller.name === EXCEPTION_CONTROLLER) {
        const target = exceptionTargetOf(object);
        if (target) controller.enqueue(target);
      }
      if (kind === "AegisPolicy" && controller.name === EXCEPTION_CONTROLLER)
        deps.caches.exceptions
          .list()
          .forEach((e) => controller.enqueue(`${e.metadata.namespace ?? ""}/${e.metadata.name ?? ""}`));
      // An exception waives (or stops waiving) results in its namespace.
      if (kind === "AegisException" && namespace && controller.name === AUDIT_CONTROLLER) controller.enqueue(namespace);
      // An approval decided covers (or not) what runs in its namespace.
      if (kind === "ApprovalRequest" && namespace && controller.name === AUDIT_CONTROLLER)
        controller.enqueue(namespace);
      // Its labels decide which policies match there.
      if (kind === "Namespace" && controller.name === AUDIT_CONTROLLER) controller.enqueue(name);
      // A policy change changes any namespace's audit results.
      if (kind === "AegisPolicy" && controller.name === AUDIT_CONTROLLER)
        workloads?.namespaces().forEach((namespace) => controller.enqueue(namespace));
    }
  });
  /** The healer starts once this term's workload caches have synced, so it never judges a half-filled cache. */
  const startHealing = async (termWorkloads: WorkloadCaches, signal: AbortSignal): Promise<void> => {
    workloads = termWorkloads;
    termWorkloads.onDeploymentChange(enqueueHealing);
    termWorkloads.onNamespaceChange(enqueueAudit);
    termWorkloads.informers.forEach((informer) => informer.start());
    const synced = await Promise.all(termWorkloads.informers.map((informer) => informer.waitForSync(signal)));
    if (signal.aborted || workloads !== termWorkloads || !synced.every(Boolean)) return;
    const healing = buildHealingController(deps, replica, termWorkloads);
    running.push(healing);
    healing.start();
    deps.logger.info({ replica }, "leading: self-healing started");
    if (deps.audit) {
      const audit = buildAuditController(deps, deps.audit, termWorkloads);
      running.push(audit);
      audit.start();
      deps.logger.info({ replica }, "leading: background audit started");
    }
  };
  // This replica's informer already enqueues what it changed itself; hints from the others let
  // the leader act before its own watch delivers the change.
  const unsubscribe = deps.bus?.subscribe((message) => {
    const kind = controllerForHint(message);
    if (message.origin === replica || !kind) return;
    for (const controller of running) {
      if (controller.name === kind) controller.enqueue(message.key);
    }
  });
  elector.start();
  return {
    elector,
    stop: async () => {
      unsubscribe?.();
      await elector.stop();
    },
  };
}

function buildControllers(deps: ControllerDependencies, replica: string): Controller[] {
  const kubeApprovalActions = new KubeApprovalRequestActions(deps.kubeConfig, replica);
  const kubePolicyActions = new KubeAegisPolicyActions(deps.kubeConfig);
  const approvalActions = deps.bus ? publishingApprovalActions(kubeApprovalActions, deps.bus) : kubeApprovalActions;
  const policyActions = deps.bus ? publishingPolicyActions(kubePolicyActions, deps.bus) : kubePolicyActions;
  const approvals = new Controller({
    name: "ApprovalRequest",
    workers: 2,
    logger: deps.logger,
    reconcile: (key) =>
      reconcileApprovalRequest(key, {
        approvals: deps.caches.approvals,
        policies: deps.caches.policies,
        actions: approvalActions,
        evidence: deps.ledger,
        now: deps.now,
        extraApprovals: deps.extraApprovals,
        retentionMs: DECIDED_REQUEST_RETENTION_MS,
        actor: deps.identity,
        exceptions: deps.caches.exceptions,
      }),
  });
  const policies = new Controller({
    name: "AegisPolicy",
    logger: deps.logger,
    reconcile: (key) =>
      reconcileAegisPolicy(key, {
        policies: deps.caches.policies,
        actions: policyActions,
        evidence: deps.ledger,
        now: deps.now,
        actor: deps.identity,
      }),
  });
  const exceptions = new Controller({
    name: EXCEPTION_CONTROLLER,
    logger: deps.logger,
    reconcile: (key) =>
      reconcileAegisException(key, {
        exceptions: deps.caches.exceptions,
        approvals: deps.caches.approvals,
        policies: deps.caches.policies,
        actions: new KubeAegisExceptionActions(deps.kubeConfig, replica),
        evidence: deps.ledger,
        now: deps.now,
        extraApprovals: deps.extraApprovals,
        actor: deps.identity,
      }),
  });
  // A new term starts from the whole cache: level-triggered, nothing depends on missed events.
  for (const exception of deps.caches.exceptions.list())
    exceptions.enqueue(`${exception.metadata.namespace ?? ""}/${exception.metadata.name ?? ""}`);
  for (const request of deps.caches.approvals.list())
    approvals.enqueue(`${request.metadata.namespace ?? ""}/${request.metadata.name ?? ""}`);
  for (const { policy } of deps.caches.policies.list()) policies.enqueue(policy.metadata.name ?? "");
  return [approvals, policies, exceptions];
}

/** `namespace/name` of the AegisException an ApprovalRequest decides, if it decides one. */
function exceptionTargetOf(object: unknown): string | undefined {
  const parsed = approvalRequestSchema.safeParse(object);
  if (!parsed.success || parsed.data.spec.target.kind !== EXCEPTION_TARGET_KIND) return undefined;
  return `${parsed.data.spec.target.namespace}/${parsed.data.spec.target.name}`;
}

function buildHealingController(deps: ControllerDependencies, replica: string, workloads: WorkloadCaches): Controller {
  return buildSelfHealingController(
    {
      logger: deps.logger,
      deps: {
        workloads: workloadViews(workloads.source),
        actions: new KubeWorkloadActions(deps.kubeConfig, replica),
        policies: deps.caches.policies,
        namespaceLabels: deps.caches.namespaceLabels,
        approved: deps.approvedChanges ?? anyApprovals([approvalRequestApprovals(deps.caches.approvals)]),
        evidence: deps.ledger,
        metrics: { inc: (labels) => deps.metrics.selfHealingActions.inc(labels) },
        now: deps.now,
        actor: deps.identity,
        ...(deps.healingTuning ? { tuning: deps.healingTuning } : {}),
        onStep: ({ namespace, name, entry, dryRun }) =>
          void deps.bus?.publish({
            topic: "selfhealing",
            key: `${namespace}/${name}`,
            data: { action: entry.action, reason: entry.reason, dryRun },
          }),
      },
    },
    workloads,
  );
}

function buildAuditController(
  deps: ControllerDependencies,
  audit: NonNullable<ControllerDependencies["audit"]>,
  workloads: WorkloadCaches,
): Controller {
  const auditDeps: AuditDependencies = {
    workloads: workloads.source,
    policies: deps.caches.policies,
    namespaceLabels: deps.caches.namespaceLabels,
    approved: audit.approved ?? deps.approvedChanges ?? anyApprovals([approvalRequestApprovals(deps.caches.approvals)]),
    reports: audit.reports,
    now: deps.now,
    activeExceptions: (namespace) =>
      activeExceptions(deps.caches.exceptionsIn(namespace), {
        approval: (name, ns) => deps.caches.approvals.get(name, ns),
        policies: deps.caches.policies,
        extraApprovals: deps.extraApprovals(),
        now: deps.now(),
      }),
    approvedSeen: new Set(),
    audits: new WeakMap(),
    hashes: new WeakMap(),
    ...(audit.onResults ? { onResults: audit.onResults } : {}),
    ...(audit.resyncMs ? { resyncMs: audit.resyncMs } : {}),
  };
  // One worker: the audit must never compete with admissions for the event loop.
  const controller = new Controller({
    name: AUDIT_CONTROLLER,
    workers: 1,
    logger: deps.logger,
    reconcile: (namespace) => reconcileAudit(namespace, auditDeps),
  });
  for (const namespace of workloads.namespaces()) controller.enqueue(namespace);
  return controller;
}
