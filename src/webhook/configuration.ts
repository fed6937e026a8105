import type { V1ValidatingWebhook, V1ValidatingWebhookConfiguration } from "@kubernetes/client-node";
import { ACCESS_ACTIONS, GROUP } from "../api/v1alpha1/index.js";
import { PUBLISHED_CHECKPOINT_NAME } from "../evidence/chain/published-checkpoint.js";
import { CONTROL_PLANE_GROUPS, exemptUsernames } from "../policy/index.js";
import { SLACK_USERS_CONFIGMAP } from "../ports/notify.js";
import { SYSTEM_NAMESPACES } from "./handler.js";
import { ADMISSION_PATH } from "./server.js";

export const WEBHOOK_CONFIGURATION_NAME = "aegis";

/** Where the API server reaches the webhook: a URL outside a cluster, a Service inside one. */
export type WebhookEndpoint = { url: string } | { service: { namespace: string; name: string; port: number } };

/**
 * Built-in controllers making pods from templates that were gated, the garbage collector and
 * nodes never reach the gate: an AEGIS outage then cannot stop rescheduling or scale-out, and
 * their writes are not gated twice. The gate applies the same rule again, with each controller
 * tied to the kinds and owners it makes (src/policy/provenance.ts).
 */
export const GATE_MATCH_CONDITIONS = [
  {
    name: "not-a-built-in-controller",
    expression: `!(request.userInfo.username in [${exemptUsernames()
      .map((user) => `'${user}'`)
      .join(", ")}])`,
  },
  {
    name: "not-a-node",
    expression: CONTROL_PLANE_GROUPS.map((group) => `!('${group}' in request.userInfo.groups)`).join(" && "),
  },
];

/**
 * The ValidatingWebhookConfiguration AEGIS owns. Namespaces that are never gated are excluded
 * by the immutable kubernetes.io/metadata.name label, which no user can set (DESIGN §3).
 */
export function buildWebhookConfiguration(
  endpoint: WebhookEndpoint,
  caBundlePem: string,
  aegisNamespace: string,
): V1ValidatingWebhookConfiguration {
  const clientConfig = {
    caBundle: Buffer.from(caBundlePem).toString("base64"),
    ...("url" in endpoint
      ? { url: `${endpoint.url.replace(/\/$/, "")}${ADMISSION_PATH}` }
      : { service: { ...endpoint.service, path: ADMISSION_PATH } }),
  };
  const namespaceSelector = {
    matchExpressions: [
      { key: "kubernetes.io/metadata.name", operator: "NotIn", values: [...SYSTEM_NAMESPACES, aegisNamespace] },
    ],
  };
  const common: Pick<
    V1ValidatingWebhook,
    "clientConfig" | "admissionReviewVersions" | "failurePolicy" | "timeoutSeconds" | "matchPolicy"
  > = {
    clientConfig,
    admissionReviewVersions: ["v1"],
    failurePolicy: "Fail",
    timeoutSeconds: 5,
    matchPolicy: "Equivalent",
  };
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingWebhookConfiguration",
    metadata: {
      name: WEBHOOK_CONFIGURATION_NAME,
      labels: { "app.kubernetes.io/name": "aegis", "app.kubernetes.io/managed-by": "aegis" },
    },
    webhooks: [
      {
        ...common,
        name: `gate.${GROUP}`,
        sideEffects: "NoneOnDryRun",
        namespaceSelector,
        matchConditions: GATE_MATCH_CONDITIONS,
        rules: [
          {
            apiGroups: ["apps"],
            apiVersions: ["v1"],
            operations: ["CREATE", "UPDATE"],
            resources: [
              "deployments",
              "statefulsets",
              "daemonsets",
              "replicasets",
              "deployments/scale",
              "statefulsets/scale",
              "replicasets/scale",
            ],
            scope: "Namespaced",
          },
          {
            apiGroups: ["batch"],
            apiVersions: ["v1"],
            operations: ["CREATE", "UPDATE"],
            resources: ["jobs", "cronjobs"],
            scope: "Namespaced",
          },
          {
            apiGroups: [""],
            apiVersions: ["v1"],
            operations: ["CREATE", "UPDATE"],
            resources: ["pods", "pods/ephemeralcontainers"],
            scope: "Namespaced",
          },
          {
            apiGroups: [""],
            apiVersions: ["v1"],
            operations: ["CONNECT"],
            resources: ACCESS_ACTIONS.map((action) => `pods/${action}`),
            scope: "Namespaced",
          },
        ],
      },
      {
        ...common,
        name: `approvals.${GROUP}`,
        sideEffects: "None",
        rules: [
          {
            apiGroups: [GROUP],
            apiVersions: ["*"],
            operations: ["CREATE", "UPDATE"],
            resources: ["approvalrequests"],
            scope: "Namespaced",
          },
        ],
      },
      {
        ...common,
        name: `checkpoints.${GROUP}`,
        sideEffects: "None",
        // Only AEGIS's namespace, only the published evidence checkpoint (checkpoint-guard.ts).
        namespaceSelector: {
          matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: [aegisNamespace] }],
        },
        matchConditions: [
          { name: "published-evidence-checkpoint", expression: `request.name == '${PUBLISHED_CHECKPOINT_NAME}'` },
        ],
        rules: [
          {
            apiGroups: [""],
            apiVersions: ["v1"],
            operations: ["CREATE", "UPDATE", "DELETE"],
            resources: ["configmaps"],
            scope: "Namespaced",
          },
        ],
      },
      {
        ...common,
        name: `slack-users.${GROUP}`,
        sideEffects: "NoneOnDryRun",
        // Only AEGIS's namespace, only the Slack user map (slack-users-guard.ts).
        namespaceSelector: {
          matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: [aegisNamespace] }],
        },
        matchConditions: [{ name: "slack-users-map", expression: `request.name == '${SLACK_USERS_CONFIGMAP}'` }],
        rules: [
          {
            apiGroups: [""],
            apiVersions: ["v1"],
            operations: ["CREATE", "UPDATE", "DELETE"],
            resources: ["configmaps"],
            scope: "Namespaced",
          },
        ],
      },
      {
        ...common,
        name: `exceptions.${GROUP}`,
        sideEffects: "NoneOnDryRun",
        // Opens the ApprovalRequest an exception needs, requested by the AdmissionReview's user (exception-guard.ts).
        rules: [
          {
            apiGroups: [GROUP],
            apiVersions: ["*"],
            operations: ["CREATE", "UPDATE"],
            resources: ["aegisexceptions"],
            scope: "Namespaced",
          },
        ],
      },
      {
        ...common,
        name: `policies.${GROUP}`,
        sideEffects: "NoneOnDryRun",
        rules: [
          {
            apiGroups: [GROUP],
            apiVersions: ["*"],
            operations: ["CREATE", "UPDATE", "DELETE"],
            resources: ["aegispolicies"],
            scope: "Cluster",
          },
        ],
      },
    ],
  };
}
