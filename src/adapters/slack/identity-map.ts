import { CoreV1Api, type KubeConfig } from "@kubernetes/client-node";
import type { Identity } from "../../api/identity.js";
import type { SlackIdentityMap } from "../../ports/notify.js";
import { isNotFound, kubeErrorMessage } from "../kube/errors.js";

/** The ConfigMap, in AEGIS's namespace, that maps Slack user ids to Kubernetes identities. */
export const SLACK_USERS_CONFIGMAP = "aegis-slack-users";

/**
 * Parses one ConfigMap entry: `alice` or `alice;group1,group2`. Returns null for an empty or
 * malformed value, so a typo maps nobody rather than someone unexpected.
 */
export function parseSlackUserEntry(value: string): Identity | null {
  const [user = "", groupList = "", ...rest] = value.split(";");
  const username = user.trim();
  if (!username || rest.length > 0) return null;
  const groups = groupList
    .split(",")
    .map((group) => group.trim())
    .filter((group) => group.length > 0);
  return { username, groups };
}

/** A static map, for tests and for configuring without a cluster. */
export class StaticSlackIdentityMap implements SlackIdentityMap {
  constructor(private readonly entries: Readonly<Record<string, string>>) {}

  resolve(slackUserId: string): Promise<Identity | null> {
    const value = Object.hasOwn(this.entries, slackUserId) ? this.entries[slackUserId] : undefined;
    return Promise.resolve(value === undefined ? null : parseSlackUserEntry(value));
  }
}

export interface KubeSlackIdentityMapOptions {
  namespace: string;
  name?: string;
  /** Re-read the ConfigMap at most this often. Default 15 s. */
  cacheMs?: number;
  now?: () => number;
}

/** Reads `aegis-slack-users` (data `U123: alice;sre-leads`) through the API server, briefly cached. */
export class KubeSlackIdentityMap implements SlackIdentityMap {
  private readonly core: CoreV1Api;
  private cached: { at: number; data: Record<string, string> } | undefined;

  constructor(
    kubeConfig: KubeConfig,
    private readonly options: KubeSlackIdentityMapOptions,
  ) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
  }

  async resolve(slackUserId: string): Promise<Identity | null> {
    const data = await this.data();
    const value = Object.hasOwn(data, slackUserId) ? data[slackUserId] : undefined;
    return value === undefined ? null : parseSlackUserEntry(value);
  }

  private async data(): Promise<Record<string, string>> {
    const now = (this.options.now ?? Date.now)();
    if (this.cached && now - this.cached.at < (this.options.cacheMs ?? 15_000)) return this.cached.data;
    const name = this.options.name ?? SLACK_USERS_CONFIGMAP;
    try {
      const configMap = await this.core.readNamespacedConfigMap({ name, namespace: this.options.namespace });
      this.cached = { at: now, data: configMap.data ?? {} };
    } catch (error) {
      if (!isNotFound(error))
        throw new Error(`reading ConfigMap ${this.options.namespace}/${name}: ${kubeErrorMessage(error)}`, {
          cause: error,
        });
      this.cached = { at: now, data: {} };
    }
    return this.cached.data;
  }
}
