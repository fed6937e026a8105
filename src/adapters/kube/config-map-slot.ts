import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { ConfigMapSlot, VersionedData } from "../../ports/kube.js";
import { isNotFound, kubeErrorMessage } from "./errors.js";

/** A ConfigMap AEGIS writes in its own namespace, read and replaced with resourceVersion preconditions. */
export class KubeConfigMapSlot implements ConfigMapSlot {
  readonly name: string;
  private readonly core: CoreV1Api;

  constructor(
    kubeConfig: KubeConfig,
    private readonly namespace: string,
    private readonly configMapName: string,
    private readonly labels: Readonly<Record<string, string>> = {},
  ) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.name = `${namespace}/${configMapName}`;
  }

  async read(): Promise<VersionedData | undefined> {
    try {
      const found = await this.core.readNamespacedConfigMap({ name: this.configMapName, namespace: this.namespace });
      return { data: found.data ?? {}, resourceVersion: found.metadata?.resourceVersion ?? "" };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw new Error(`reading ConfigMap ${this.name}: ${kubeErrorMessage(error)}`, { cause: error });
    }
  }

  async create(data: Readonly<Record<string, string>>): Promise<void> {
    try {
      await this.core.createNamespacedConfigMap({
        namespace: this.namespace,
        body: { metadata: { name: this.configMapName, labels: { ...this.labels } }, data: { ...data } },
      });
    } catch (error) {
      throw new Error(`creating ConfigMap ${this.name}: ${kubeErrorMessage(error)}`, { cause: error });
    }
  }

  async replace(data: Readonly<Record<string, string>>, resourceVersion: string): Promise<void> {
    try {
      await this.core.replaceNamespacedConfigMap({
        name: this.configMapName,
        namespace: this.namespace,
        body: {
          metadata: { name: this.configMapName, resourceVersion, labels: { ...this.labels } },
          data: { ...data },
        },
      });
    } catch (error) {
      throw new Error(`replacing ConfigMap ${this.name}: ${kubeErrorMessage(error)}`, { cause: error });
    }
  }
}
