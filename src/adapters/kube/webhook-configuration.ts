import {
  AdmissionregistrationV1Api,
  type KubeConfig,
  type V1ValidatingWebhook,
  type V1ValidatingWebhookConfiguration,
} from "@kubernetes/client-node";
import { GROUP } from "../../api/v1alpha1/index.js";
import { ADMISSION_PATH } from "../../webhook/server.js";
import { SYSTEM_NAMESPACES } from "../../webhook/handler.js";
import { isNotFound, kubeErrorMessage } from "./errors.js";

export const WEBHOOK_CONFIGURATION_NAME = "aegis";

/** Where the API server reaches the webhook: a URL outside a cluster, a Service inside one. */
export type WebhookEndpoint = { url: string } | { service: { namespace: string; name: string; port: number } };

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
        rules: [
          {
            apiGroups: ["apps"],
            apiVersions: ["v1"],
            operations: ["CREATE", "UPDATE"],
            resources: ["deployments", "statefulsets", "daemonsets", "replicasets"],
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
            resources: ["pods"],
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
    ],
  };
}

/** Creates the configuration, or replaces it when its content drifted (e.g. a new caBundle). */
export async function ensureWebhookConfiguration(
  kubeConfig: KubeConfig,
  desired: V1ValidatingWebhookConfiguration,
): Promise<"created" | "updated" | "unchanged"> {
  const api = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const name = desired.metadata?.name ?? WEBHOOK_CONFIGURATION_NAME;
  let current: V1ValidatingWebhookConfiguration;
  try {
    current = await api.readValidatingWebhookConfiguration({ name });
  } catch (error) {
    if (!isNotFound(error))
      throw new Error(`reading ValidatingWebhookConfiguration ${name}: ${kubeErrorMessage(error)}`, { cause: error });
    await api.createValidatingWebhookConfiguration({ body: desired });
    return "created";
  }
  if (sameWebhooks(current, desired)) return "unchanged";
  const body: V1ValidatingWebhookConfiguration = {
    ...desired,
    metadata: {
      ...desired.metadata,
      name,
      ...(current.metadata?.resourceVersion ? { resourceVersion: current.metadata.resourceVersion } : {}),
    },
  };
  try {
    await api.replaceValidatingWebhookConfiguration({ name, body });
  } catch (error) {
    throw new Error(`updating ValidatingWebhookConfiguration ${name}: ${kubeErrorMessage(error)}`, { cause: error });
  }
  return "updated";
}

function sameWebhooks(current: V1ValidatingWebhookConfiguration, desired: V1ValidatingWebhookConfiguration): boolean {
  const pick = (config: V1ValidatingWebhookConfiguration): unknown =>
    (config.webhooks ?? []).map((webhook) => ({
      name: webhook.name,
      caBundle: webhook.clientConfig.caBundle,
      url: webhook.clientConfig.url,
      service: webhook.clientConfig.service
        ? `${webhook.clientConfig.service.namespace}/${webhook.clientConfig.service.name}:${webhook.clientConfig.service.port ?? 443}`
        : undefined,
      rules: webhook.rules?.map((rule) => [rule.apiGroups, rule.resources, rule.operations]),
      failurePolicy: webhook.failurePolicy,
      namespaceSelector: webhook.namespaceSelector,
      timeoutSeconds: webhook.timeoutSeconds,
    }));
  return JSON.stringify(pick(current)) === JSON.stringify(pick(desired));
}
