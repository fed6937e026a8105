import { createHash } from "node:crypto";
import type { AgentOptions } from "node:https";
import { KubeConfig, type Cluster } from "@kubernetes/client-node";

/** In-cluster configuration when running in a pod, else KUBECONFIG or ~/.kube/config (DESIGN §4). */
export function loadKubeConfig(
  options: { kubeconfig?: string | undefined; context?: string | undefined } = {},
): KubeConfig {
  const kubeConfig = new PooledKubeConfig();
  if (options.kubeconfig) kubeConfig.loadFromFile(options.kubeconfig);
  else kubeConfig.loadFromDefault();
  if (options.context) kubeConfig.setCurrentContext(options.context);
  if (!kubeConfig.getCurrentCluster()) {
    throw new Error("no Kubernetes cluster configured: run in a pod, or set KUBECONFIG / --kubeconfig");
  }
  return kubeConfig;
}

type CreateDispatcher = (cluster: Cluster | null, agentOptions: AgentOptions) => unknown;
interface Closable {
  close(): Promise<void>;
}

/** Dispatchers kept at most: one per cluster and client credentials in use (rotation adds one). */
const MAX_DISPATCHERS = 4;

/**
 * client-node 2.0 builds a new undici Agent for every API call (`applySecurityAuthentication`
 * → `createDispatcher`): a new connection pool, so a TLS handshake per call and an idle socket
 * left behind each time. With thousands of reconciles on half a CPU that is most of the work and
 * a steady climb of memory. One dispatcher per server and credentials is reused instead; a
 * rotated client certificate or CA is a new key, and the oldest pool is closed.
 */
export class PooledKubeConfig extends KubeConfig {
  private readonly dispatchers = new Map<string, unknown>();

  constructor() {
    super();
    const self = this as unknown as { createDispatcher: CreateDispatcher };
    const create = self.createDispatcher.bind(this);
    self.createDispatcher = (cluster, agentOptions) => {
      const key = dispatcherKey(cluster, agentOptions);
      const cached = this.dispatchers.get(key);
      if (cached !== undefined) return cached;
      const dispatcher = create(cluster, agentOptions);
      if (dispatcher === undefined) return undefined;
      this.dispatchers.set(key, dispatcher);
      if (this.dispatchers.size > MAX_DISPATCHERS) this.closeOldest();
      return dispatcher;
    };
  }

  /** How many connection pools this configuration holds (for tests). */
  get pooledDispatchers(): number {
    return this.dispatchers.size;
  }

  private closeOldest(): void {
    const [oldestKey, oldest] = this.dispatchers.entries().next().value ?? [];
    if (oldestKey === undefined) return;
    this.dispatchers.delete(oldestKey);
    // Requests still running on it finish; close() waits for them, new ones use the new pool.
    void (oldest as Closable).close().catch(() => undefined);
  }
}

function dispatcherKey(cluster: Cluster | null, options: AgentOptions): string {
  const hash = createHash("sha256");
  hash.update(JSON.stringify([cluster?.server ?? "", cluster?.proxyUrl ?? "", options.servername ?? ""]));
  hash.update(JSON.stringify([options.rejectUnauthorized ?? null, options.passphrase ?? null]));
  for (const material of [options.ca, options.cert, options.key, options.pfx]) {
    hash.update("\0");
    for (const part of [material ?? ""].flat())
      hash.update(typeof part === "string" || part instanceof Uint8Array ? part : JSON.stringify(part));
  }
  return hash.digest("hex");
}
