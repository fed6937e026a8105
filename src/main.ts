// The composition root: parses configuration once, builds the adapters, starts informers,
// the webhook, the REST API and the leader-elected controllers, and stops them on a signal.
import { createServer as createHttpServer, type RequestListener, type Server as HttpServer } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import type { KubeConfig } from "@kubernetes/client-node";
import { appendDecision, KubeApprovalRequestWriter } from "./adapters/kube/approval-request-writer.js";
import { KubeAuth } from "./adapters/kube/auth.js";
import { KubeSlackMappingReviewer } from "./adapters/slack/mapping-reviewer.js";
import { ensureNamespace, loadOrCreateCa } from "./adapters/kube/ca-secret.js";
import { createKubeCaches, type KubeCaches } from "./adapters/kube/caches.js";
import { SharedRiskModel, startRiskModelUpkeep } from "./wiring/risk-model.js";
import { createWorkloadCaches } from "./adapters/kube/workloads.js";
import { KubePolicyReportStore } from "./adapters/kube/policy-reports.js";
import { REPORT_MANAGED_BY, REPORT_MANAGED_BY_LABEL } from "./audit/index.js";
import { KubeWorkloadReader } from "./adapters/kube/workload-reader.js";
import {
  anyApprovals,
  approvalRequestApprovals,
  DEFAULT_HEALING_TUNING,
  evidenceApprovals,
} from "./selfhealing/index.js";
import { createThreatDetection } from "./wiring/threats.js";
import { whoAmI } from "./adapters/kube/identity.js";
import { loadKubeConfig } from "./adapters/kube/kube-config.js";
import { ensureWebhookConfiguration } from "./adapters/kube/webhook-configuration.js";
import { buildWebhookConfiguration, type WebhookEndpoint } from "./webhook/configuration.js";
import { compilePolicy, type CompiledPolicy } from "./policy/index.js";
import { breakGlassReviewCounts, riskShadowCounts, riskShadowStatus } from "./approval/index.js";
import { registerBusMetrics } from "./bus/bus-metrics.js";
import { createEventBus } from "./wiring/event-bus.js";
import { decisionHint } from "./bus/resource-hints.js";
import { loadServeConfig, type ServeConfig } from "./wiring/config.js";
import { evidencePublishers, openEvidenceLedger, parseWitnessList, startEvidenceCheckpoints } from "./wiring/ledger.js";
import { KubeConfigMapSlot } from "./adapters/kube/config-map-slot.js";
import { PUBLISHED_CHECKPOINT_NAME } from "./evidence/chain/published-checkpoint.js";
import { keyIdOf, publicKeyToPem } from "./evidence/chain/signing.js";
import type { EvidenceLedger } from "./evidence/ledger.js";
import { evidenceReady } from "./evidence/readiness.js";
import { pgTransportWarning } from "./evidence/store/pg-database.js";
import { createApiApp, type Readiness } from "./http/api-server.js";
import { evidenceReaderFromStore } from "./http/evidence-reader.js";
import { buildIntegrations } from "./wiring/integrations.js";
import { KubeNotificationMarks } from "./adapters/kube/notification-marks.js";
import { createNotifier } from "./notify/notifier.js";
import { createLogger, type Logger } from "./observability/logger.js";
import { AegisMetrics } from "./observability/metrics.js";
import { startControllers, type RunningControllers } from "./wiring/controllers.js";
import { createCertificateAuthority, issueServingCertificate, type ServingCertificate } from "./tls/certificates.js";
import { CertificateRotator } from "./tls/rotation.js";
import { readCertDir, watchCertDir } from "./tls/cert-dir.js";
import { readClientCa, watchClientCa } from "./tls/client-ca.js";
import { createAdmissionHandler } from "./webhook/handler.js";
import { createSso, loadSsoSettings } from "./http/oidc/index.js";
import { WebhookServer, type TlsMaterial } from "./webhook/server.js";
import type { EventBus } from "./ports/bus.js";
import { defaultIdentity } from "./runtime/leader-election.js";

export interface RunningAegis {
  apiPort: number;
  webhookPort: number;
  aegisUsername: string;
  ledger: EvidenceLedger;
  caches: KubeCaches<CompiledPolicy>;
  /** Hints between replicas (Redis when REDIS_URL is set) and to live views. */
  bus: EventBus;
  /** This replica's Lease identity and bus origin. */
  replica: string;
  stop(): Promise<void>;
}

export async function runServe(flags: Record<string, string | undefined>): Promise<void> {
  const config = loadServeConfig(flags, process.env);
  const logger = createLogger(config.logLevel);
  let aegis: RunningAegis;
  try {
    aegis = await startAegis(config, logger);
  } catch (error) {
    // What started before the failure (listeners, informers) would keep a half-started process
    // running and never Ready: exit, so that it is restarted (the kubelet, a service manager).
    logger.error({ err: error }, "start-up failed; exiting");
    process.exit(1);
  }
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    // Inside Kubernetes' 30 s grace period: a hung API server must not keep a stopped replica alive.
    setTimeout(() => {
      logger.error({ signal }, "shutdown did not finish in 20 s; exiting");
      process.exit(1);
    }, 20_000).unref();
    aegis.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

/** Starts every part of AEGIS; resolves once the webhook and API listen and caches synced. */
export async function startAegis(
  config: ServeConfig,
  logger: Logger,
  kubeConfig: KubeConfig = loadKubeConfig({ kubeconfig: config.kubeconfig }),
): Promise<RunningAegis> {
  // First, so that a bad CA file stops AEGIS before it waits for anything.
  const clientCaFile = config.webhookClientCa;
  const clientCa = clientCaFile === undefined ? undefined : await readClientCa(clientCaFile);
  // Dashboard SSO (docs/sso.md), checked first too: a missing AEGIS_SESSION_SECRET stops AEGIS here.
  const ssoSettings = loadSsoSettings(config, process.env, config.integrations.AEGIS_DASHBOARD_URL);
  const sso = ssoSettings && createSso(ssoSettings, { logger });
  sso?.discover().catch((error: unknown) => logger.warn({ err: error }, "OIDC discovery failed; retried at sign-in"));
  if (clientCa === undefined) {
    logger.warn(
      { webhookPort: config.webhookPort },
      "the webhook trusts any caller that can reach it: anyone who reaches this port can post a forged AdmissionReview (any userInfo); give --webhook-client-ca (AEGIS_WEBHOOK_CLIENT_CA) and configure the API server to present a client certificate (docs/security.md)",
    );
  }
  const identity = await retryTransient(() => whoAmI(kubeConfig), "learning AEGIS's identity", logger);
  if (identity.groups.includes("system:masters")) {
    logger.warn(
      { user: identity.username },
      "AEGIS runs as a cluster admin: changes made by this identity bypass the gate; give AEGIS its own service account",
    );
  }
  await ensureNamespace(kubeConfig, config.namespace).catch((error: unknown) =>
    logger.warn({ err: error }, "could not ensure AEGIS's namespace"),
  );
  const metrics = new AegisMetrics();
  const ledger = await openEvidenceLedger({
    databaseUrl: config.databaseUrl,
    databaseAdminUrl: config.databaseAdminUrl,
    databaseRole: config.databaseRole,
    dataDir: config.dataDir,
    keyFile: config.evidenceSigningKey,
    failClosed: config.evidenceFailClosed,
    logger,
  });
  metrics.observeEvidence(() => ledger.metrics);
  for (const url of [config.databaseUrl, config.databaseAdminUrl]) {
    const weaker = url === undefined ? undefined : pgTransportWarning(url);
    if (weaker !== undefined) logger.warn({}, `evidence: ${weaker}`);
  }
  // Auditors pin this id (`aegis evidence verify --key-id`); `aegis evidence key` prints it too.
  logger.info({ keyId: ledger.keyId }, "evidence: checkpoints are signed with this key");
  // The leader signs and publishes checkpoints; leadership is known once the controllers start.
  let leading = (): boolean => false;
  const checkpoints = await startEvidenceCheckpoints(ledger, {
    dataDir: config.dataDir,
    keyFile: config.evidenceSigningKey,
    intervalMs: config.evidenceCheckpointInterval * 1000,
    logger,
    publishers: evidencePublishers({
      witnesses: parseWitnessList(config.evidenceWitnesses),
      configMap: new KubeConfigMapSlot(kubeConfig, config.namespace, PUBLISHED_CHECKPOINT_NAME, {
        "app.kubernetes.io/name": "aegis",
        "app.kubernetes.io/component": "evidence-checkpoint",
      }),
    }),
    isLeader: () => leading(),
  });
  metrics.observeCheckpoints(() => ({
    publishFailures: checkpoints.publishFailures(),
    newestSize: checkpoints.newestSize,
  }));
  // Every replica scores with the newest signed risk model of the ledger; the leader retrains it.
  const riskModel = new SharedRiskModel({
    history: ledger.store,
    evidence: ledger,
    signingKey: ledger.signingKey,
    actor: identity.username,
    logger,
  });
  await riskModel.refresh().catch((err: unknown) => logger.warn({ err }, "risk model: reading the ledger failed"));
  const stopRiskModel = startRiskModelUpkeep(riskModel, () => leading(), config.riskTrainInterval * 1000, logger);
  const replica = defaultIdentity();
  const bus = createEventBus(config.redisUrl, logger, replica, { caFile: config.redisCaFile });
  registerBusMetrics(metrics.registry, () => bus.stats());
  const caches = createKubeCaches(kubeConfig, logger, compilePolicy);
  metrics.observeApprovalPhases(() =>
    countBy(caches.approvals.list(), (request) => request.status?.phase ?? "Pending"),
  );
  metrics.observeBreakGlassReviews(() => breakGlassReviewCounts(caches.approvals.list()));
  metrics.observeRiskShadow(() => riskShadowCounts(caches.approvals.list()));
  caches.informers.forEach((informer) => informer.start());
  const threats = createThreatDetection({
    evidence: ledger,
    threatsMetric: metrics.threats,
    bus,
    logger,
    actor: identity.username,
    redisUrl: config.redisUrl,
    redisCaFile: config.redisCaFile,
    replica,
    registry: metrics.registry,
  });
  caches.onChange((kind) => {
    if (kind === "AegisPolicy") threats.syncLockdown(caches.policies.list());
  });
  const extraApprovals = (): number => threats.extraApprovals();
  // Rollback targets: Approved requests in the cache (kept 7 days) and the ledger's admission.decision
  // records, read through the ledger's own connection (one pool per replica).
  const approvedChanges = anyApprovals(
    [approvalRequestApprovals(caches.approvals), evidenceApprovals(ledger.store)],
    (err) => logger.warn({ err }, "approved-change lookup failed"),
  );
  const now = (): Date => new Date();

  const handler = createAdmissionHandler({
    policies: caches.policies,
    evidencePublicKey: checkpoints.publicKey,
    namespaceLabels: caches.namespaceLabels,
    approvalRequests: caches.approvals,
    exceptions: caches.exceptionsIn,
    approvalsIn: caches.approvalsIn,
    riskModel: () => riskModel.current(),
    requestWriter: new KubeApprovalRequestWriter(kubeConfig),
    slackMappingReviewer: new KubeSlackMappingReviewer(kubeConfig),
    evidence: ledger,
    now,
    aegisUsername: identity.username,
    aegisNamespace: config.namespace,
    approvedBefore: async (target, changeHash) =>
      (await approvedChanges.approvedAmong(target, [changeHash])).has(changeHash),
    workloads: new KubeWorkloadReader(kubeConfig),
    ...(config.argoCdNamespace ? { argoCdNamespace: config.argoCdNamespace } : {}),
    extraApprovals,
    onDecision: (decision) => {
      for (const policy of decision.policies)
        metrics.policyDecisions.inc({ policy, decision: decision.allowed ? "allowed" : "denied" });
      if (decision.reason === "BreakGlass")
        for (const policy of decision.policies) metrics.breakGlassAdmissions.inc({ policy });
      threats.onDecision(decision);
    },
    onAccess: (access) =>
      metrics.accessSessions.inc({ action: access.action, decision: access.allowed ? "allowed" : "denied" }),
  });
  const certificates = await servingCertificates(config, kubeConfig, logger);
  const endpoint = certificates.caBundlePem === undefined ? undefined : webhookEndpoint(config);
  const webhook = new WebhookServer({
    host: config.webhookHost,
    port: config.webhookPort,
    tls: certificates.tls,
    clientCa,
    handler: async (request) => {
      if (!caches.hasSynced()) throw new Error("caches are not synced yet; retry shortly");
      return handler(request);
    },
    logger,
    onOutcome: (outcome) => metrics.observeAdmission(outcome),
  });
  const webhookPort = await webhook.listen();
  const stopRenewing = certificates.keepCurrent(webhook);
  // A rotated CA (a mounted Secret or ConfigMap) is picked up without a restart.
  const stopWatchingClientCa =
    clientCaFile === undefined || clientCa === undefined
      ? () => undefined
      : watchClientCa(
          clientCaFile,
          clientCa,
          (next) => {
            webhook.updateClientCa(next);
            logger.info({ file: clientCaFile }, "webhook client CA reloaded");
          },
          (error) => logger.error({ err: error }, "reloading the webhook client CA failed; keeping the current one"),
        );

  let webhookConfigured = endpoint === undefined;
  const readiness = (): Readiness => {
    const checks = {
      caches: caches.hasSynced(),
      webhookConfigured,
      evidence: evidenceReady(ledger.health, new Date()),
    };
    return { ready: Object.values(checks).every(Boolean), checks };
  };
  const auth = new KubeAuth(kubeConfig, config.apiTokenAudience);
  const integrations = buildIntegrations({
    settings: config.integrations,
    kubeConfig,
    namespace: config.namespace,
    redisUrl: config.redisUrl,
    redisCaFile: config.redisCaFile,
    slackMapping: { evidence: ledger, actor: identity.username, logger },
    deploymentSources: {
      approvals: caches.approvals,
      policies: caches.policies,
      namespaceLabels: caches.namespaceLabels,
      extraApprovals,
      now,
      logger,
    },
  });
  const policyReports = new KubePolicyReportStore(kubeConfig, `${REPORT_MANAGED_BY_LABEL}=${REPORT_MANAGED_BY}`);
  const api = createApiApp({
    readiness,
    metrics,
    policies: caches.policies,
    approvals: caches.approvals,
    auth,
    tokenAudience: config.apiTokenAudience,
    trustedProxies: config.apiTrustedProxies,
    appendDecision: async (request, decision) => {
      await appendDecision(kubeConfig, request, decision);
      // A hint must not slow the decision down: publish never rejects, and a slow Redis is not worth waiting for.
      void bus.publish(decisionHint(request, decision));
    },
    extraApprovals,
    now,
    logger,
    bus,
    evidence: evidenceReaderFromStore(ledger.store),
    evidenceKey: { publicKeyPem: publicKeyToPem(checkpoints.publicKey), keyId: keyIdOf(checkpoints.publicKey) },
    // Every replica reads the reports the leader writes.
    reports: policyReports,
    // The audit's totals are the leader's (its workload caches); other replicas report none.
    securityStatus: async () => ({
      ...(await threats.securityStatus()),
      audit: metrics.auditTotals(),
      riskShadow: riskShadowStatus(riskShadowCounts(caches.approvals.list())),
      riskModel: { version: riskModel.current().version, trainedOn: riskModel.current().model.trainedOn },
    }),
    riskTraining: {
      current: () => riskModel.current(),
      train: () => riskModel.train("on demand"),
    },
    ...integrations.api,
    ...(sso ? { sso: sso.router, sessionIdentity: sso.sessionIdentity } : {}),
  });
  const apiListener = await listenApi(api, {
    host: config.apiHost,
    port: config.apiPort,
    certDir: config.apiCertDir,
    logger,
  });
  const apiPort = apiListener.port;

  await waitFor(() => caches.hasSynced(), 60_000, "informer caches to sync");
  if (endpoint) {
    const outcome = await ensureWebhookConfiguration(
      kubeConfig,
      buildWebhookConfiguration(endpoint, certificates.caBundlePem ?? "", config.namespace),
    );
    logger.info({ outcome }, "ValidatingWebhookConfiguration ensured");
    webhookConfigured = true;
  }
  const controllers: RunningControllers = startControllers({
    kubeConfig,
    config,
    caches,
    ledger,
    metrics,
    logger,
    identity: identity.username,
    now,
    extraApprovals,
    bus,
    replica,
    createWorkloads: () => createWorkloadCaches(kubeConfig, logger),
    approvedChanges,
    healingTuning: { ...DEFAULT_HEALING_TUNING, baseBackoffMs: config.healingBackoffMs },
    audit: {
      reports: policyReports,
      // What runs is covered when a human approved it, or AEGIS rolled back to a revision one approved.
      approved: anyApprovals(
        [
          approvalRequestApprovals(caches.approvals),
          evidenceApprovals(ledger.store, ["Approved", "AegisRollbackApproved"]),
        ],
        (err) => logger.warn({ err }, "approved-change lookup for the audit failed"),
      ),
      onResults: (namespace, counts, unapproved) => metrics.recordAuditResults(namespace, counts, unapproved),
    },
  });
  leading = () => controllers.elector.isLeader();
  const notifier = createNotifier({
    approvals: caches.approvals,
    policies: caches.policies,
    ...integrations.notifier,
    marks: new KubeNotificationMarks(kubeConfig),
    isLeader: () => controllers.elector.isLeader(),
    bus,
    extraApprovals,
    now,
    logger,
  });
  notifier.start();
  caches.onChange((kind, object) => {
    if (kind === "ApprovalRequest")
      notifier.enqueue(`${object.metadata?.namespace ?? ""}/${object.metadata?.name ?? ""}`);
    // GitHub deployments waiting in this replica are answered once their requests are decided.
    if (kind === "ApprovalRequest") integrations.deployments?.poke();
  });
  logger.info(
    {
      apiPort,
      webhookPort,
      user: identity.username,
      webhookClientCertificates: clientCa === undefined ? "not required" : "required",
    },
    "AEGIS is serving",
  );

  return {
    apiPort,
    webhookPort,
    aegisUsername: identity.username,
    ledger,
    caches,
    bus,
    replica,
    stop: async () => {
      stopRiskModel();
      stopRenewing();
      stopWatchingClientCa();
      // Admissions keep being served (caches and ledger still open) until the API server has
      // stopped sending them here; the controllers stop meanwhile.
      const drained = webhook.drain();
      await notifier.stop();
      await controllers.stop();
      await apiListener.close();
      await drained;
      await webhook.close();
      await Promise.all(caches.informers.map((informer) => informer.stop()));
      await threats.close();
      await bus.close();
      await integrations.close();
      // Settle queued records, sign a last checkpoint over them, then close the database.
      await ledger.flush();
      await checkpoints.close();
      await ledger.close();
    },
  };
}

export interface ApiListener {
  readonly server: HttpServer | HttpsServer;
  readonly port: number;
  readonly scheme: "http" | "https";
  /** Stops accepting, ends open connections (event streams included) and stops watching the certificate. */
  close(): Promise<void>;
}

/**
 * The REST API's listener (port 8750): plain HTTP, or with `certDir` (--api-cert-dir) HTTPS with
 * that folder's tls.crt/tls.key, read and watched as the webhook's --webhook-cert-dir is
 * (readCertDir, watchCertDir: a renewed certificate is used for new connections, an unreadable
 * or invalid one is logged and the current one stays). With TLS nothing on the port speaks
 * plain HTTP: such a client fails the handshake.
 */
export async function listenApi(
  app: RequestListener,
  options: {
    host: string;
    port: number;
    certDir?: string | undefined;
    logger: Pick<Logger, "info" | "error">;
    /** How often the certificate folder is checked; default 30 s (watchCertDir). */
    reloadIntervalMs?: number;
  },
): Promise<ApiListener> {
  const { certDir, logger } = options;
  let server: HttpServer | HttpsServer;
  let stopWatching = (): void => undefined;
  if (certDir === undefined) {
    server = createHttpServer(app);
  } else {
    const apiCertificate = (error: unknown): Error => {
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
      return new Error(
        `the API certificate (--api-cert-dir ${certDir}, tls.crt and tls.key): ${cause instanceof Error ? cause.message : String(cause)}`,
        { cause: error },
      );
    };
    let https: HttpsServer;
    try {
      https = createHttpsServer({ ...(await readCertDir(certDir)), minVersion: "TLSv1.2" }, app);
    } catch (error) {
      throw apiCertificate(error);
    }
    server = https;
    stopWatching = watchCertDir(
      certDir,
      (next) => {
        https.setSecureContext({ key: next.key, cert: next.cert });
        logger.info({ certDir }, "API certificate reloaded");
      },
      (error) =>
        logger.error({ err: apiCertificate(error) }, "reloading the API certificate failed; keeping the current one"),
      options.reloadIntervalMs,
    );
  }
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, options.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    stopWatching();
    throw error;
  }
  const scheme = certDir === undefined ? "http" : "https";
  logger.info(
    { port: (server.address() as AddressInfo).port, scheme, ...(certDir ? { certDir } : {}) },
    "REST API listening",
  );
  return {
    server,
    port: (server.address() as AddressInfo).port,
    scheme,
    close: async () => {
      stopWatching();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
    },
  };
}

interface ServingCertificates {
  tls: TlsMaterial;
  /** The CA the webhook configuration must trust; undefined when someone else (cert-manager) manages it. */
  caBundlePem: string | undefined;
  /** Keeps the running server's certificate current; returns the function that stops doing so. */
  keepCurrent(server: WebhookServer): () => void;
}

/**
 * Either AEGIS's own CA (shared by replicas through a Secret) issuing a serving certificate it
 * renews, or a certificate folder someone else maintains (--webhook-cert-dir, cert-manager).
 */
async function servingCertificates(
  config: ServeConfig,
  kubeConfig: KubeConfig,
  logger: Logger,
): Promise<ServingCertificates> {
  const onError = (error: unknown): void =>
    logger.error({ err: error }, "renewing the webhook certificate failed; retrying");
  if (config.webhookCertDir) {
    const directory = config.webhookCertDir;
    return {
      tls: await readCertDir(directory),
      caBundlePem: undefined,
      keepCurrent: (server) => watchCertDir(directory, (tls) => server.updateCertificate(tls), onError),
    };
  }
  const ca = await loadOrCreateCa(kubeConfig, config.namespace, () => createCertificateAuthority());
  const issue = (): Promise<ServingCertificate> => issueServingCertificate(ca, servingHosts(config));
  const serving = await issue();
  return {
    tls: { key: serving.keyPem, cert: serving.certPem },
    caBundlePem: ca.certPem,
    keepCurrent: (server) => {
      const rotator = new CertificateRotator({ issue, target: server, onError });
      rotator.start(serving, Date.now());
      return () => rotator.stop();
    },
  };
}

function webhookEndpoint(config: ServeConfig): WebhookEndpoint | undefined {
  if (config.webhookUrl) return { url: config.webhookUrl };
  if (config.webhookService) {
    const [namespace = "", name = ""] = config.webhookService.split("/");
    return { service: { namespace, name, port: 443 } };
  }
  return undefined;
}

function servingHosts(config: ServeConfig): string[] {
  if (config.webhookUrl) return [new URL(config.webhookUrl).hostname.replace(/^\[|\]$/g, "")];
  if (config.webhookService) {
    const [namespace = "", name = ""] = config.webhookService.split("/");
    return [`${name}.${namespace}.svc`, `${name}.${namespace}.svc.cluster.local`, name];
  }
  return ["localhost", "127.0.0.1"];
}

function countBy<T>(items: readonly T[], key: (item: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

/** Start-up calls retried while the API server is starting or briefly unreachable (1 minute). */
async function retryTransient<T>(action: () => Promise<T>, what: string, logger: Logger): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await action();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      logger.warn({ err: error, attempt }, `${what} failed; retrying`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(5_000, 250 * 2 ** attempt)));
    }
  }
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
