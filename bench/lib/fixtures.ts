// Realistic inputs shared by the benchmarks: 20 AegisPolicies (a few matching the bench
// namespace, most matching other teams' namespaces), a Deployment of the kind a payments team
// ships, the AdmissionReviews an API server would send for it, and ApprovalRequests as the
// informer would deliver them.
import {
  aegisPolicySchema,
  API_VERSION,
  approvalRequestSchema,
  type AegisPolicy,
  type ApprovalRequest,
} from "../../src/api/v1alpha1/index.js";
import { approvalRequestName, computeChangeHash } from "../../src/changehash/index.js";

export const BENCH_NAMESPACE = "payments";
export const BENCH_DEPLOYMENT = "checkout";
export const REQUESTER = "system:serviceaccount:argocd:argocd-application-controller";
export const REQUESTER_GROUPS = ["system:serviceaccounts", "system:serviceaccounts:argocd", "system:authenticated"];
export const AEGIS_USERNAME = "system:serviceaccount:aegis-system:aegis";

const TEAMS = ["orders", "search", "identity", "ledger", "catalog", "shipping", "fraud", "notifications"] as const;

/** Namespace labels as the Namespace informer would hold them. */
export const NAMESPACE_LABELS: ReadonlyMap<string, Record<string, string>> = new Map([
  [BENCH_NAMESPACE, { env: "prod", team: "payments", "pod-security.kubernetes.io/enforce": "restricted" }],
  ...TEAMS.map((team): [string, Record<string, string>] => [team, { env: "prod", team }]),
  ...TEAMS.map((team): [string, Record<string, string>] => [`${team}-staging`, { env: "staging", team }]),
]);

export function namespaceLabels(namespace: string): Record<string, string> {
  return { "kubernetes.io/metadata.name": namespace, ...(NAMESPACE_LABELS.get(namespace) ?? {}) };
}

const APPROVERS = { users: ["alice@example.com"], groups: ["sre-leads"] };

function policy(name: string, spec: Record<string, unknown>): AegisPolicy {
  return aegisPolicySchema.parse({
    apiVersion: API_VERSION,
    kind: "AegisPolicy",
    metadata: { name, uid: `uid-${name}`, generation: 1 },
    spec,
  });
}

/** The four policies that match Deployments in the bench namespace. */
function benchNamespacePolicies(): AegisPolicy[] {
  return [
    policy("payments-prod-gate", {
      enforcement: "Enforce",
      match: { kinds: ["Deployment", "StatefulSet", "DaemonSet"], namespaces: [BENCH_NAMESPACE] },
      exclude: { users: ["system:serviceaccount:kube-system:replicaset-controller"] },
      checks: [
        { name: "pod-security", podSecurity: { level: "restricted", version: "latest" } },
        { name: "trusted-registries", allowedRegistries: ["ghcr.io/acme/", "registry.k8s.io/"] },
        { name: "pinned", requireImageDigest: true },
        { name: "no-latest", disallowLatestTag: true },
        { name: "resources", requireResources: { requests: ["cpu", "memory"], limits: ["memory"] } },
        { name: "owner", requiredLabels: ["app.kubernetes.io/name", "team"] },
        { name: "replicas", cel: "object.spec.replicas <= 20", message: "at most 20 replicas" },
      ],
      approval: { mode: "Always", minApprovals: 2, approvers: APPROVERS, expiresAfter: "24h" },
    }),
    policy("prod-risk-gate", {
      enforcement: "Enforce",
      match: { kinds: ["Deployment", "StatefulSet"], namespaceSelector: { matchLabels: { env: "prod" } } },
      checks: [
        {
          name: "no-host-network",
          cel: "!has(object.spec.template.spec.hostNetwork) || object.spec.template.spec.hostNetwork == false",
          message: "no hostNetwork in prod",
        },
        {
          name: "limits-everywhere",
          cel: "object.spec.template.spec.containers.all(c, has(c.resources) && has(c.resources.limits))",
          message: "every container needs limits",
        },
      ],
      approval: { mode: "RiskBased", riskThreshold: 10, minApprovals: 1, approvers: APPROVERS, expiresAfter: "12h" },
    }),
    policy("prod-labels-audit", {
      enforcement: "Audit",
      match: {
        kinds: ["Deployment", "StatefulSet", "DaemonSet", "CronJob"],
        namespaceSelector: { matchExpressions: [{ key: "env", operator: "In", values: ["prod"] }] },
      },
      checks: [
        { name: "cost-center", requiredLabels: ["app.kubernetes.io/name", "team", "app.kubernetes.io/part-of"] },
      ],
    }),
    policy("payments-pci-baseline", {
      enforcement: "Enforce",
      match: {
        kinds: ["Deployment", "Pod"],
        namespaceSelector: { matchLabels: { team: "payments" } },
        objectSelector: { matchExpressions: [{ key: "app.kubernetes.io/name", operator: "Exists" }] },
      },
      checks: [
        { name: "baseline", podSecurity: { level: "baseline", version: "v1.30" } },
        { name: "registries", allowedRegistries: ["ghcr.io/acme/"] },
      ],
    }),
  ];
}

/** Sixteen policies for other teams' namespaces: evaluated for matching, never for checks here. */
function otherTeamPolicies(): AegisPolicy[] {
  return TEAMS.flatMap((team, index) => teamPolicies(team, index));
}

/**
 * `count` policies: the four that match the bench namespace, then other teams' (a gate listing
 * the team's namespace, an audit selecting its staging namespaces by label), for scaling figures.
 */
export function scaledPolicies(count: number): AegisPolicy[] {
  const others = Array.from({ length: Math.ceil(count / 2) }, (_, index) =>
    teamPolicies(TEAMS[index] ?? `team-${index}`, index),
  ).flat();
  return [...benchNamespacePolicies(), ...others].slice(0, count);
}

function teamPolicies(team: string, index: number): AegisPolicy[] {
  return [
    policy(`${team}-prod-gate`, {
      enforcement: "Enforce",
      match: { kinds: ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"], namespaces: [team] },
      checks: [
        {
          name: "pod-security",
          podSecurity: { level: index % 2 === 0 ? "restricted" : "baseline", version: "latest" },
        },
        { name: "registries", allowedRegistries: [`ghcr.io/acme/${team}/`, "registry.k8s.io/"] },
        { name: "no-latest", disallowLatestTag: true },
        { name: "resources", requireResources: { requests: ["cpu", "memory"] } },
        {
          name: "max-replicas",
          cel: `!has(object.spec.replicas) || object.spec.replicas <= ${10 + index}`,
          message: "too many replicas",
        },
      ],
      approval: {
        mode: index % 3 === 0 ? "RiskBased" : "Always",
        riskThreshold: 30,
        minApprovals: 1 + (index % 2),
        approvers: { users: [], groups: [`${team}-leads`] },
      },
    }),
    policy(`${team}-staging-audit`, {
      enforcement: "Audit",
      match: { kinds: ["Deployment", "Pod"], namespaceSelector: { matchLabels: { team, env: "staging" } } },
      checks: [
        { name: "labels", requiredLabels: ["app.kubernetes.io/name"] },
        {
          name: "no-privileged",
          cel: "object.spec.template.spec.containers.all(c, !has(c.securityContext) || !has(c.securityContext.privileged) || c.securityContext.privileged == false)",
        },
      ],
    }),
  ];
}

/** 20 AegisPolicies, zod-parsed (defaults filled) as the informer's ParsedStore holds them. */
export function benchPolicies(): AegisPolicy[] {
  return [...otherTeamPolicies().slice(0, 8), ...benchNamespacePolicies(), ...otherTeamPolicies().slice(8)];
}

const DIGEST_OLD = `sha256:${"3f".repeat(32)}`;
const DIGEST_NEW = `sha256:${"9c".repeat(32)}`;
const SIDECAR_DIGEST = `sha256:${"e1".repeat(32)}`;

const RESTRICTED = {
  allowPrivilegeEscalation: false,
  runAsNonRoot: true,
  readOnlyRootFilesystem: true,
  seccompProfile: { type: "RuntimeDefault" },
  capabilities: { drop: ["ALL"] },
};

function appContainer(image: string): Record<string, unknown> {
  return {
    name: "checkout",
    image,
    imagePullPolicy: "IfNotPresent",
    ports: [
      { name: "http", containerPort: 8080, protocol: "TCP" },
      { name: "metrics", containerPort: 9090, protocol: "TCP" },
    ],
    env: [
      { name: "NODE_ENV", value: "production" },
      { name: "LOG_LEVEL", value: "info" },
      { name: "DATABASE_URL", valueFrom: { secretKeyRef: { name: "checkout-db", key: "url" } } },
      { name: "POD_NAME", valueFrom: { fieldRef: { apiVersion: "v1", fieldPath: "metadata.name" } } },
    ],
    resources: { requests: { cpu: "250m", memory: "256Mi" }, limits: { cpu: "1", memory: "512Mi" } },
    readinessProbe: {
      httpGet: { path: "/readyz", port: "http", scheme: "HTTP" },
      periodSeconds: 5,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
    },
    livenessProbe: {
      httpGet: { path: "/healthz", port: "http", scheme: "HTTP" },
      initialDelaySeconds: 10,
      periodSeconds: 10,
      timeoutSeconds: 1,
      successThreshold: 1,
      failureThreshold: 3,
    },
    volumeMounts: [
      { name: "tmp", mountPath: "/tmp" },
      { name: "config", mountPath: "/etc/checkout", readOnly: true },
    ],
    securityContext: RESTRICTED,
    terminationMessagePath: "/dev/termination-log",
    terminationMessagePolicy: "File",
  };
}

function sidecar(): Record<string, unknown> {
  return {
    name: "envoy",
    image: `ghcr.io/acme/envoy:1.31.2@${SIDECAR_DIGEST}`,
    imagePullPolicy: "IfNotPresent",
    args: ["--config-path", "/etc/envoy/envoy.yaml", "--log-level", "warn"],
    ports: [{ name: "proxy", containerPort: 15001, protocol: "TCP" }],
    resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "200m", memory: "128Mi" } },
    volumeMounts: [{ name: "envoy-config", mountPath: "/etc/envoy", readOnly: true }],
    securityContext: RESTRICTED,
    terminationMessagePath: "/dev/termination-log",
    terminationMessagePolicy: "File",
  };
}

export interface DeploymentShape {
  readonly image: string;
  readonly replicas?: number;
  readonly generation?: number;
  readonly withStatus?: boolean;
}

/** A Deployment as the API server stores it (defaults, managedFields, status). */
export function checkoutDeployment(shape: DeploymentShape): Record<string, unknown> {
  const labels = { "app.kubernetes.io/name": "checkout", "app.kubernetes.io/part-of": "shop", team: "payments" };
  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: BENCH_DEPLOYMENT,
      namespace: BENCH_NAMESPACE,
      uid: "6f1c2b9e-1d7a-4c55-9d0f-2f7e8a61c0b4",
      resourceVersion: "48213377",
      generation: shape.generation ?? 41,
      creationTimestamp: "2026-03-02T09:14:51Z",
      labels,
      annotations: {
        "deployment.kubernetes.io/revision": "41",
        "argocd.argoproj.io/tracking-id": "shop:apps/Deployment:payments/checkout",
      },
      managedFields: [
        {
          manager: "argocd-controller",
          operation: "Apply",
          apiVersion: "apps/v1",
          time: "2026-11-20T10:02:11Z",
          fieldsType: "FieldsV1",
          fieldsV1: {
            "f:metadata": { "f:labels": { "f:team": {}, "f:app.kubernetes.io/name": {} } },
            "f:spec": { "f:replicas": {}, "f:template": { "f:spec": { "f:containers": {} } } },
          },
        },
        {
          manager: "kube-controller-manager",
          operation: "Update",
          apiVersion: "apps/v1",
          time: "2026-11-20T10:03:40Z",
          fieldsType: "FieldsV1",
          subresource: "status",
          fieldsV1: { "f:status": { "f:availableReplicas": {}, "f:conditions": {}, "f:readyReplicas": {} } },
        },
      ],
    },
    spec: {
      replicas: shape.replicas ?? 6,
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      selector: { matchLabels: { "app.kubernetes.io/name": "checkout" } },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 0 } },
      template: {
        metadata: { labels, annotations: { "prometheus.io/scrape": "true", "prometheus.io/port": "9090" } },
        spec: {
          serviceAccountName: "checkout",
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 10001,
            fsGroup: 10001,
            seccompProfile: { type: "RuntimeDefault" },
          },
          initContainers: [
            {
              name: "migrate",
              image: shape.image,
              command: ["/app/migrate", "--wait"],
              resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "256Mi" } },
              securityContext: RESTRICTED,
            },
          ],
          containers: [appContainer(shape.image), sidecar()],
          volumes: [
            { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "64Mi" } },
            { name: "config", configMap: { name: "checkout-config", defaultMode: 420 } },
            { name: "envoy-config", configMap: { name: "checkout-envoy", defaultMode: 420 } },
          ],
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: "topology.kubernetes.io/zone",
              whenUnsatisfiable: "ScheduleAnyway",
              labelSelector: { matchLabels: { "app.kubernetes.io/name": "checkout" } },
            },
          ],
          terminationGracePeriodSeconds: 30,
          dnsPolicy: "ClusterFirst",
          restartPolicy: "Always",
          schedulerName: "default-scheduler",
        },
      },
    },
    ...(shape.withStatus === false
      ? {}
      : {
          status: {
            observedGeneration: 40,
            replicas: 6,
            updatedReplicas: 6,
            readyReplicas: 6,
            availableReplicas: 6,
            conditions: [
              {
                type: "Available",
                status: "True",
                reason: "MinimumReplicasAvailable",
                message: "Deployment has minimum availability.",
                lastUpdateTime: "2026-11-20T10:03:40Z",
                lastTransitionTime: "2026-11-01T08:00:00Z",
              },
              {
                type: "Progressing",
                status: "True",
                reason: "NewReplicaSetAvailable",
                message: 'ReplicaSet "checkout-7c9d8f6b5d" has successfully progressed.',
                lastUpdateTime: "2026-11-20T10:03:40Z",
                lastTransitionTime: "2026-11-01T08:00:00Z",
              },
            ],
          },
        }),
  };
}

export const OLD_IMAGE = `ghcr.io/acme/checkout:2.14.0@${DIGEST_OLD}`;
export const NEW_IMAGE = `ghcr.io/acme/checkout:2.15.0@${DIGEST_NEW}`;
export const UNAPPROVED_IMAGE = `ghcr.io/acme/checkout:2.16.0-rc.1@sha256:${"5a".repeat(32)}`;
export const UNTRUSTED_IMAGE = "docker.io/library/checkout:latest";

export type ReviewKind = "approved-update" | "scale" | "untrusted-image" | "unapproved-update";

/** What the gate must answer for each kind of review. */
export const EXPECTED_ALLOWED: Readonly<Record<ReviewKind, boolean>> = {
  "approved-update": true,
  scale: true,
  "untrusted-image": false,
  "unapproved-update": false,
};

function objectsFor(kind: ReviewKind): { object: Record<string, unknown>; oldObject: Record<string, unknown> } {
  const oldObject = checkoutDeployment({ image: OLD_IMAGE });
  switch (kind) {
    case "approved-update":
      return { object: checkoutDeployment({ image: NEW_IMAGE, generation: 42 }), oldObject };
    case "scale":
      return { object: checkoutDeployment({ image: OLD_IMAGE, replicas: 9, generation: 42 }), oldObject };
    case "untrusted-image":
      return { object: checkoutDeployment({ image: UNTRUSTED_IMAGE, generation: 42 }), oldObject };
    case "unapproved-update":
      return { object: checkoutDeployment({ image: UNAPPROVED_IMAGE, generation: 42 }), oldObject };
  }
}

const UID_PLACEHOLDER = "00000000-uid0-uid0-uid0-000000000000";

/** An AdmissionReview body split around its uid, so a client can stamp a fresh uid cheaply. */
export interface ReviewTemplate {
  readonly kind: ReviewKind;
  readonly prefix: string;
  readonly suffix: string;
}

export function reviewTemplate(kind: ReviewKind): ReviewTemplate {
  const { object, oldObject } = objectsFor(kind);
  const review = {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: UID_PLACEHOLDER,
      kind: { group: "apps", version: "v1", kind: "Deployment" },
      resource: { group: "apps", version: "v1", resource: "deployments" },
      requestKind: { group: "apps", version: "v1", kind: "Deployment" },
      requestResource: { group: "apps", version: "v1", resource: "deployments" },
      name: BENCH_DEPLOYMENT,
      namespace: BENCH_NAMESPACE,
      operation: "UPDATE",
      userInfo: { username: REQUESTER, uid: "0b8f7c1e-0d2a-4bb1-9d5e-6a3c2f1e9b77", groups: REQUESTER_GROUPS },
      object,
      oldObject,
      dryRun: false,
      options: { kind: "UpdateOptions", apiVersion: "meta.k8s.io/v1", fieldManager: "argocd-controller" },
    },
  };
  const [prefix = "", suffix = ""] = JSON.stringify(review).split(UID_PLACEHOLDER);
  return { kind, prefix, suffix };
}

/** ChangeHash of the approved update, as the gate computes it. */
export function approvedChangeHash(): string {
  return computeChangeHash(checkoutDeployment({ image: NEW_IMAGE, generation: 42 }));
}

export interface RawApprovalRequestOptions {
  readonly namespace: string;
  readonly target: string;
  readonly changeHash: string;
  readonly createdAt: Date;
  readonly approvers: readonly string[];
  readonly rejectedBy?: string;
  readonly withStatus?: boolean;
  readonly index?: number;
}

/** An ApprovalRequest as the API server returns it (before zod parsing). */
export function rawApprovalRequest(options: RawApprovalRequestOptions): Record<string, unknown> {
  const name = approvalRequestName("Deployment", options.target, options.changeHash);
  const decidedAt = new Date(options.createdAt.getTime() + 5 * 60_000).toISOString();
  const decisions = [
    ...options.approvers.map((user, i) => ({
      user,
      decision: "Approve",
      comment: `LGTM, checked the rollout plan (${i + 1})`,
      at: decidedAt,
      via: "kubectl",
    })),
    ...(options.rejectedBy
      ? [{ user: options.rejectedBy, decision: "Reject", comment: "not during the freeze", at: decidedAt, via: "api" }]
      : []),
  ];
  const index = options.index ?? 0;
  return {
    apiVersion: API_VERSION,
    kind: "ApprovalRequest",
    metadata: {
      name,
      namespace: options.namespace,
      uid: `7d3c9a10-${String(index).padStart(4, "0").slice(-4)}-4e2b-8f1a-${options.changeHash.slice(7, 19)}`,
      resourceVersion: String(50_000_000 + index),
      generation: 1 + decisions.length,
      creationTimestamp: options.createdAt.toISOString(),
      labels: {
        "app.kubernetes.io/managed-by": "aegis",
        "aegis.valina.ai/target-kind": "deployment",
        "aegis.valina.ai/target-name": options.target,
      },
      managedFields: [
        {
          manager: "aegis",
          operation: "Update",
          apiVersion: API_VERSION,
          time: options.createdAt.toISOString(),
          fieldsType: "FieldsV1",
          fieldsV1: {
            "f:metadata": { "f:labels": {} },
            "f:spec": { "f:changeHash": {}, "f:policies": {}, "f:requester": {}, "f:risk": {}, "f:target": {} },
          },
        },
      ],
    },
    spec: {
      target: { apiVersion: "apps/v1", kind: "Deployment", namespace: options.namespace, name: options.target },
      changeHash: options.changeHash,
      policies: ["payments-prod-gate", "prod-risk-gate"],
      requester: { username: REQUESTER, groups: REQUESTER_GROUPS },
      risk: {
        score: 35,
        factors: [
          { name: "production-namespace", points: 20, detail: `namespace ${options.namespace} is labelled env=prod` },
          {
            name: "image-change",
            points: 15,
            detail: "container checkout: image ghcr.io/acme/checkout:2.14.0 → 2.15.0",
          },
        ],
      },
      summary:
        "Deployment payments/checkout: image ghcr.io/acme/checkout 2.14.0 → 2.15.0 (containers checkout, init migrate)",
      reason: "release 2.15.0: faster card tokenisation (JIRA PAY-1432)",
      decisions,
    },
    ...(options.withStatus === false
      ? {}
      : {
          status: {
            phase: options.rejectedBy ? "Rejected" : options.approvers.length >= 2 ? "Approved" : "Pending",
            approvals: options.approvers.length,
            requiredApprovals: 2,
            expiresAt: new Date(options.createdAt.getTime() + 12 * 3_600_000).toISOString(),
            decidedAt: options.approvers.length >= 2 || options.rejectedBy ? decidedAt : null,
            observedGeneration: 1 + decisions.length,
            conditions: [
              {
                type: "Decided",
                status: "True",
                reason: "Approved",
                message: "approved by alice@example.com, bob@example.com",
                lastTransitionTime: decidedAt,
                observedGeneration: 1 + decisions.length,
              },
            ],
          },
        }),
  };
}

/** A fake changeHash unique to `index`. */
export function syntheticChangeHash(index: number): string {
  return `sha256:${index.toString(16).padStart(8, "0").repeat(8)}`;
}

/** The Approved request for the bench change, plus `others` unrelated requests, zod-parsed. */
export function benchApprovalRequests(now: Date, others: number): ApprovalRequest[] {
  const createdAt = new Date(now.getTime() - 30 * 60_000);
  const approved = rawApprovalRequest({
    namespace: BENCH_NAMESPACE,
    target: BENCH_DEPLOYMENT,
    changeHash: approvedChangeHash(),
    createdAt,
    approvers: ["alice@example.com", "bob@example.com"],
  });
  const rest = Array.from({ length: others }, (_, index) =>
    rawApprovalRequest({
      namespace: TEAMS[index % TEAMS.length] ?? "orders",
      target: `svc-${index}`,
      changeHash: syntheticChangeHash(index + 1),
      createdAt,
      approvers: index % 2 === 0 ? ["alice@example.com"] : [],
      index,
    }),
  );
  return [approved, ...rest].map((raw) => approvalRequestSchema.parse(raw));
}
