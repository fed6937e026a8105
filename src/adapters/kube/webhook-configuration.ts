import {
  AdmissionregistrationV1Api,
  type KubeConfig,
  type V1ValidatingWebhookConfiguration,
} from "@kubernetes/client-node";
import { isAlreadyExists, isConflict, isNotFound, kubeErrorMessage } from "./errors.js";

/** The calls ensureWebhookConfiguration makes (AdmissionregistrationV1Api's, or a test's). */
export type WebhookConfigurationApi = Pick<
  AdmissionregistrationV1Api,
  | "readValidatingWebhookConfiguration"
  | "createValidatingWebhookConfiguration"
  | "replaceValidatingWebhookConfiguration"
>;

/** Another replica creating or replacing it at the same moment makes a round lose; then read again. */
const ATTEMPTS = 5;

/**
 * Creates the configuration, or replaces it when its content drifted (e.g. a new caBundle).
 * Replicas starting together race for it: a create that finds it created (409 AlreadyExists) or a
 * replace that finds it changed (409 Conflict) reads it again and decides afresh.
 */
export async function ensureWebhookConfiguration(
  kubeConfig: KubeConfig,
  desired: V1ValidatingWebhookConfiguration,
): Promise<"created" | "updated" | "unchanged"> {
  return ensureWebhookConfigurationWith(kubeConfig.makeApiClient(AdmissionregistrationV1Api), desired);
}

export async function ensureWebhookConfigurationWith(
  api: WebhookConfigurationApi,
  desired: V1ValidatingWebhookConfiguration,
): Promise<"created" | "updated" | "unchanged"> {
  const name = desired.metadata?.name;
  if (!name) throw new Error("the desired ValidatingWebhookConfiguration has no metadata.name");
  for (let attempt = 1; ; attempt++) {
    const lostRace = (error: unknown): boolean => attempt < ATTEMPTS && (isAlreadyExists(error) || isConflict(error));
    let current: V1ValidatingWebhookConfiguration;
    try {
      current = await api.readValidatingWebhookConfiguration({ name });
    } catch (error) {
      if (!isNotFound(error))
        throw new Error(`reading ValidatingWebhookConfiguration ${name}: ${kubeErrorMessage(error)}`, { cause: error });
      try {
        await api.createValidatingWebhookConfiguration({ body: desired });
        return "created";
      } catch (createError) {
        if (lostRace(createError)) continue;
        throw new Error(`creating ValidatingWebhookConfiguration ${name}: ${kubeErrorMessage(createError)}`, {
          cause: createError,
        });
      }
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
      return "updated";
    } catch (error) {
      if (lostRace(error)) continue;
      throw new Error(`updating ValidatingWebhookConfiguration ${name}: ${kubeErrorMessage(error)}`, { cause: error });
    }
  }
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
