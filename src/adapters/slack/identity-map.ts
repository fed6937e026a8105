import { CoreV1Api, KubeConfig, type V1ConfigMap } from "@kubernetes/client-node";
import type { EvidenceEvent, EvidenceRecorder } from "../../ports/evidence.js";
import { silentLogger, type Logger } from "../../ports/logger.js";
import {
  diffSlackMappings,
  parseSlackUserEntry,
  SLACK_USERS_CONFIGMAP,
  slackEntryHash,
  slackMappingHash,
  type SlackIdentityMap,
  type SlackIdentityResolution,
  type SlackMappingVersion,
} from "../../ports/notify.js";
import { isNotFound, kubeErrorMessage } from "../kube/errors.js";

export { parseSlackUserEntry, SLACK_USERS_CONFIGMAP };

/** What one entry of `data` resolves to under one version of the map. */
function resolveIn(
  data: Readonly<Record<string, string>>,
  slackUserId: string,
  mapping: SlackMappingVersion,
): SlackIdentityResolution {
  const value = Object.hasOwn(data, slackUserId) ? data[slackUserId] : undefined;
  if (value === undefined) return { status: "unmapped", mapping };
  const entryHash = slackEntryHash(slackUserId, value);
  const entry = parseSlackUserEntry(value);
  return "username" in entry
    ? { status: "mapped", username: entry.username, entryHash, mapping }
    : { status: "refused", problem: entry.refused, entryHash, mapping };
}

/** Entries that map nobody, with the reason: logged and recorded with every version. */
function refusedEntries(data: Readonly<Record<string, string>>): Record<string, string> {
  const refused: Record<string, string> = {};
  for (const [id, value] of Object.entries(data)) {
    const entry = parseSlackUserEntry(value);
    if ("refused" in entry) refused[id] = entry.refused;
  }
  return refused;
}

/** A static map, for tests and for configuring without a cluster. */
export class StaticSlackIdentityMap implements SlackIdentityMap {
  private readonly mapping: SlackMappingVersion;

  constructor(
    private readonly entries: Readonly<Record<string, string>>,
    resourceVersion = "static",
  ) {
    this.mapping = { configMap: "static", uid: "static", resourceVersion, mappingHash: slackMappingHash(entries) };
  }

  resolve(slackUserId: string): Promise<SlackIdentityResolution> {
    return Promise.resolve(resolveIn(this.entries, slackUserId, this.mapping));
  }
}

/** The one client call the map makes (CoreV1Api, or a stand-in in tests). */
export type ConfigMapReader = Pick<CoreV1Api, "readNamespacedConfigMap">;

export interface KubeSlackIdentityMapOptions {
  namespace: string;
  name?: string;
  /** Re-read the ConfigMap at most this often when resolving. Default 15 s. */
  cacheMs?: number;
  now?: () => number;
  /**
   * Where each version of the map read is recorded (policy.change), before any decision uses it.
   * `aegis serve` always gives it (src/wiring/integrations.ts); without it nothing is recorded
   * and a warning says so once.
   */
  evidence?: EvidenceRecorder;
  /** The actor of those records: AEGIS's own username (who changed the map is the webhook's record). */
  actor?: string;
  logger?: Logger;
}

interface Present {
  present: true;
  mapping: SlackMappingVersion;
  data: Record<string, string>;
}
type Snapshot = Present | { present: false };

/**
 * Reads `aegis-slack-users` (data `U123: alice`) through the API server, briefly cached. Every
 * version it reads is recorded as evidence before a decision can use it (id
 * `slack-users:<uid>:<resourceVersion>`, so replicas that read the same version make one record),
 * with the whole map, the entries it refuses, what changed since the version this replica read
 * before, and the ConfigMap's field managers. When the record cannot be made, resolving fails and
 * no Slack decision is taken. `start()` also reads it periodically, so a change is recorded even
 * when no Slack decision follows it.
 */
export class KubeSlackIdentityMap implements SlackIdentityMap {
  private cached: { at: number; snapshot: Snapshot } | undefined;
  private loading: Promise<Snapshot> | undefined;
  /** The version recorded last, the base of the next record's diff. */
  private recorded: Snapshot | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly logger: Logger;
  private readonly core: ConfigMapReader;
  private warnedUnrecorded = false;

  /** `source`: a kubeconfig (AEGIS's identity), or the one client call itself (tests). */
  constructor(
    source: KubeConfig | ConfigMapReader,
    private readonly options: KubeSlackIdentityMapOptions,
  ) {
    this.core = source instanceof KubeConfig ? source.makeApiClient(CoreV1Api) : source;
    this.logger = options.logger ?? silentLogger;
  }

  private get name(): string {
    return this.options.name ?? SLACK_USERS_CONFIGMAP;
  }

  private get subject(): string {
    return `ConfigMap/${this.options.namespace}/${this.name}`;
  }

  async resolve(slackUserId: string): Promise<SlackIdentityResolution> {
    const snapshot = await this.current();
    if (!snapshot.present) return { status: "unmapped" };
    return resolveIn(snapshot.data, slackUserId, snapshot.mapping);
  }

  /** Reads the map now (not from the cache) and records its version if it is new. */
  refresh(): Promise<Snapshot> {
    this.loading ??= this.load().finally(() => {
      this.loading = undefined;
    });
    return this.loading;
  }

  /** Reads the map every `intervalMs` in the background, recording each new version. */
  start(intervalMs = 30_000): void {
    if (this.timer) return;
    const tick = (): void => {
      this.refresh().catch((error: unknown) =>
        this.logger.warn({ err: error, configMap: this.subject }, "reading the Slack identity map failed"),
      );
    };
    tick();
    this.timer = setInterval(tick, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async current(): Promise<Snapshot> {
    const now = (this.options.now ?? Date.now)();
    if (this.cached && now - this.cached.at < (this.options.cacheMs ?? 15_000)) return this.cached.snapshot;
    return this.refresh();
  }

  private async load(): Promise<Snapshot> {
    const at = (this.options.now ?? Date.now)();
    const configMap = await this.read();
    const snapshot = configMap ? this.snapshotOf(configMap) : ({ present: false } as const);
    await this.recordIfNew(snapshot, configMap);
    this.cached = { at, snapshot };
    return snapshot;
  }

  private async read(): Promise<V1ConfigMap | undefined> {
    try {
      return await this.core.readNamespacedConfigMap({ name: this.name, namespace: this.options.namespace });
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw new Error(`reading ConfigMap ${this.options.namespace}/${this.name}: ${kubeErrorMessage(error)}`, {
        cause: error,
      });
    }
  }

  private snapshotOf(configMap: V1ConfigMap): Present {
    const data = { ...(configMap.data ?? {}) };
    return {
      present: true,
      data,
      mapping: {
        configMap: `${this.options.namespace}/${this.name}`,
        uid: configMap.metadata?.uid ?? "",
        resourceVersion: configMap.metadata?.resourceVersion ?? "",
        mappingHash: slackMappingHash(data),
      },
    };
  }

  private async record(event: Omit<EvidenceEvent, "type" | "subject" | "actor">): Promise<void> {
    const { evidence, actor } = this.options;
    if (!evidence) {
      if (!this.warnedUnrecorded)
        this.logger.warn(
          { configMap: this.subject },
          "the Slack identity map has no evidence recorder: its versions are not recorded",
        );
      this.warnedUnrecorded = true;
      return;
    }
    await evidence.record({ ...event, type: "policy.change", subject: this.subject, actor: actor ?? "system:aegis" });
  }

  private async recordIfNew(snapshot: Snapshot, configMap: V1ConfigMap | undefined): Promise<void> {
    const previous = this.recorded;
    if (sameVersion(previous, snapshot)) return;
    if (snapshot.present) {
      await this.recordVersion(snapshot, previous, configMap);
    } else if (previous?.present) {
      await this.record({
        id: `slack-users:${previous.mapping.uid}:deleted`,
        data: {
          operation: "Observed",
          deleted: true,
          uid: previous.mapping.uid,
          since: previous.mapping,
          ...diffSlackMappings(previous.data, {}),
        },
      });
      this.logger.warn({ configMap: this.subject }, "the Slack identity map was deleted: nobody approves from Slack");
    }
    this.recorded = snapshot;
  }

  private async recordVersion(
    snapshot: Present,
    previous: Snapshot | undefined,
    configMap?: V1ConfigMap,
  ): Promise<void> {
    const refused = refusedEntries(snapshot.data);
    const base = previous?.present ? previous : undefined;
    await this.record({
      id: `slack-users:${snapshot.mapping.uid}:${snapshot.mapping.resourceVersion}`,
      data: {
        operation: "Observed",
        uid: snapshot.mapping.uid,
        resourceVersion: snapshot.mapping.resourceVersion,
        mappingHash: snapshot.mapping.mappingHash,
        entries: snapshot.data,
        refused,
        since: base ? base.mapping : null,
        ...(base ? diffSlackMappings(base.data, snapshot.data) : { added: null, removed: null, changed: null }),
        managers: managersOf(configMap),
      },
    });
    if (Object.keys(refused).length > 0)
      this.logger.error(
        { configMap: this.subject, resourceVersion: snapshot.mapping.resourceVersion, refused },
        "Slack identity map entries refused: they map nobody (an entry names a Kubernetes username only, e.g. U123: alice)",
      );
  }
}

function sameVersion(a: Snapshot | undefined, b: Snapshot): boolean {
  if (a === undefined) return false;
  if (!a.present || !b.present) return a.present === b.present;
  return a.mapping.uid === b.mapping.uid && a.mapping.resourceVersion === b.mapping.resourceVersion;
}

/** Who wrote the ConfigMap as far as the object tells (field managers; the webhook's record names the user). */
function managersOf(configMap: V1ConfigMap | undefined): { manager: string; operation: string; time: string | null }[] {
  return (configMap?.metadata?.managedFields ?? []).map((field) => ({
    manager: field.manager ?? "",
    operation: field.operation ?? "",
    time: timeOf(field.time),
  }));
}

function timeOf(time: unknown): string | null {
  if (time instanceof Date) return Number.isNaN(time.getTime()) ? null : time.toISOString();
  return typeof time === "string" ? time : null;
}
