import { CustomObjectsApi, type KubeConfig } from "@kubernetes/client-node";
import type { WorkloadReader } from "../../ports/kube.js";
import { isNotFound, kubeErrorMessage } from "./errors.js";

/** Live GETs of workloads (never a cache: a scale request must be checked against what is stored now). */
export class KubeWorkloadReader implements WorkloadReader {
  private readonly custom: CustomObjectsApi;

  constructor(kubeConfig: KubeConfig) {
    this.custom = kubeConfig.makeApiClient(CustomObjectsApi);
  }

  async get(
    resource: { group: string; version: string; resource: string },
    namespace: string,
    name: string,
  ): Promise<Record<string, unknown> | undefined> {
    try {
      const object: unknown = await this.custom.getNamespacedCustomObject({
        group: resource.group,
        version: resource.version,
        namespace,
        plural: resource.resource,
        name,
      });
      return typeof object === "object" && object !== null ? (object as Record<string, unknown>) : undefined;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw new Error(`reading ${resource.resource} ${namespace}/${name}: ${kubeErrorMessage(error)}`, {
        cause: error,
      });
    }
  }
}
