import {
  AdmissionregistrationV1Api,
  type KubeConfig,
  type V1ValidatingWebhookConfiguration,
} from "@kubernetes/client-node";
import { isNotFound, kubeErrorMessage } from "./errors.js";

/** Creates the configuration, or replaces it when its content drifted (e.g. a new caBundle). */
export async function ensureWebhookConfiguration(
  kubeConfig: KubeConfig,
  desired: V1ValidatingWebhookConfiguration,
): Promise<"created" | "updated" | "unchanged"> {
  const api = kubeConfig.makeApiClient(AdmissionregistrationV1Api);
  const name = desired.metadata?.name;
  if (!name) throw new Error("the desired ValidatingWebhookConfiguration has no metadata.name");
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
        ? `${webhook.clientConfig.service.namespace}/${webhook.clientConfig.service.name}:${webhook.clientConfig.service.port ?? 443}${webhook.clientConfig.service.path ?? ""}`
        : undefined,
      rules: webhook.rules?.map((rule) => [
        rule.apiGroups,
        rule.apiVersions,
        rule.resources,
        rule.operations,
        rule.scope,
      ]),
      matchConditions: webhook.matchConditions?.map((condition) => [condition.name, condition.expression]) ?? [],
      failurePolicy: webhook.failurePolicy,
      sideEffects: webhook.sideEffects,
      namespaceSelector: webhook.namespaceSelector,
      timeoutSeconds: webhook.timeoutSeconds,
    }));
  return JSON.stringify(pick(current)) === JSON.stringify(pick(desired));
}
