import {
  makeInformer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
} from "@kubernetes/client-node";
import { systemClock, type CancelTimer, type Clock, type RandomSource } from "./clock.js";
import { describeError } from "./errors.js";
import { silentLogger, type Logger } from "../ports/logger.js";
import { backoffDelay } from "./rate-limiter.js";

/**
 * The part of client-node's `ListWatch` (what `makeInformer` returns) this wrapper uses. One
 * source is one list followed by a watch; the wrapper creates a fresh one for every relist.
 */
export interface InformerSource<T> extends ObjectCache<T> {
  on(verb: "add" | "update" | "delete", callback: (obj: T) => void): void;
  on(verb: "error" | "connect", callback: (err?: unknown) => void): void;
  /** Lists, then opens the watch; resolves once the watch is open (or an `error` was emitted). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

export type InformerSourceFactory<T> = () => InformerSource<T>;

export interface ListWatchSourceOptions<T extends KubernetesObject> {
  readonly kubeConfig: KubeConfig;
  /** Watch path, e.g. `/api/v1/namespaces/prod/configmaps` or `/apis/apps/v1/deployments`. */
  readonly path: string;
  /** Lists the same collection as `path` (and with the same `labelSelector`). */
  readonly list: () => Promise<KubernetesListObject<T>>;
  readonly labelSelector?: string;
}

/** Sources backed by client-node's `makeInformer`, the production choice. */
export function listWatchSource<T extends KubernetesObject>(
  options: ListWatchSourceOptions<T>,
): InformerSourceFactory<T> {
  return () => makeInformer(options.kubeConfig, options.path, options.list, options.labelSelector);
}

/**
 * What the informer tells its users. Handlers should only turn the object into queue keys
 * (`objectKey(obj)`, or a mapped owner key) and enqueue them: reconcilers then read current state
 * from the cache, so a missed or coalesced event costs nothing (level-triggered). `onChange`
 * covers adds, updates and resyncs alike; `onDelete` gets the last state the cache held.
 */
export interface InformerEventHandler<T> {
  onChange?(obj: T): void;
  onDelete?(obj: T): void;
}

export interface InformerOptions<T> {
  /** Used in logs, e.g. `configmaps`. */
  readonly name: string;
  readonly source: InformerSourceFactory<T>;
  /** Full relist + resync of every key this often; 0 disables. Default 10 min (KFC `relistIntervalSec`). */
  readonly relistIntervalMs?: number;
  /**
   * Restart when nothing (event or watch reconnect) was seen for this long; off when absent.
   * client-node reconnects an idle watch every 30 s, so values well above that are safe.
   */
  readonly staleAfterMs?: number;
  /** First restart delay after an error; doubles per consecutive failure. Default 1 s. */
  readonly restartInitialDelayMs?: number;
  /** Cap of the restart delay. Default 30 s. */
  readonly restartMaxDelayMs?: number;
  /** A generation that ran this long without error resets the restart backoff. Default 2 min. */
  readonly backoffResetMs?: number;
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly random?: RandomSource;
}

/** One list + watch. Only the active one feeds handlers; a syncing one replaces it when listed. */
interface Generation<T> {
  readonly id: number;
  readonly source: InformerSource<T>;
  liveSince?: number;
  failed: boolean;
}

/**
 * A cache of one kind of object kept current by list + watch, robust where client-node's
 * informer is not (STYLE P9): client-node stops for good after any watch error other than 410,
 * never resyncs, and a stalled watch goes unnoticed.
 *
 * - Every (re)start is a fresh list in a new generation, so objects deleted while the watch was
 *   down are reported through `onDelete`, and every current object through `onChange` (resync).
 *   Reads keep serving the previous cache until the new list is complete.
 * - Errors restart it after an exponential, jittered, capped delay; 410 Gone is handled inside
 *   client-node by relisting.
 * - Every `relistIntervalMs` it relists and resyncs, so reconcilers self-heal from anything missed.
 * - With `staleAfterMs`, a watch that went silent is restarted.
 *
 * Objects are whatever client-node returns (`T` is not validated); parse them at the caller.
 */
export class ResilientInformer<T extends KubernetesObject> {
  readonly name: string;
  private readonly createSource: InformerSourceFactory<T>;
  private readonly relistIntervalMs: number;
  private readonly staleAfterMs: number | undefined;
  private readonly restartBackoff: { baseDelayMs: number; maxDelayMs: number; jitter: number };
  private readonly backoffResetMs: number;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly handlers = new Set<InformerEventHandler<T>>();
  private readonly syncWaiters = new Set<(synced: boolean) => void>();
  private active: Generation<T> | undefined;
  private syncing: Generation<T> | undefined;
  private generationCount = 0;
  private started = false;
  private stopped = false;
  private synced = false;
  private consecutiveFailures = 0;
  private restartCount = 0;
  private relistCount = 0;
  private lastSeenAt: number | undefined;
  private cancelRestart: CancelTimer | undefined;
  private cancelRelist: CancelTimer | undefined;
  private cancelWatchdog: CancelTimer | undefined;

  constructor(options: InformerOptions<T>) {
    this.name = options.name;
    this.createSource = options.source;
    this.relistIntervalMs = options.relistIntervalMs ?? 600_000;
    this.staleAfterMs = options.staleAfterMs;
    this.restartBackoff = {
      baseDelayMs: options.restartInitialDelayMs ?? 1000,
      maxDelayMs: options.restartMaxDelayMs ?? 30_000,
      jitter: 0.2,
    };
    this.backoffResetMs = options.backoffResetMs ?? 120_000;
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
  }

  /** Registers a handler; returns a function that removes it. Add handlers before `start()`. */
  addEventHandler(handler: InformerEventHandler<T>): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** Starts listing and watching. Calling it twice has no effect. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.launch("start");
    this.scheduleWatchdog();
  }

  /** Stops watching for good; the cache stays readable, handlers are no longer called. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const cancel of [this.cancelRestart, this.cancelRelist, this.cancelWatchdog]) cancel?.();
    for (const waiter of this.syncWaiters) waiter(false);
    this.syncWaiters.clear();
    const generations = [this.active, this.syncing].filter((gen) => gen !== undefined);
    await Promise.all(generations.map((gen) => this.stopSource(gen)));
  }

  /** True once the first full list is in the cache; it stays true (feed it to `/readyz`). */
  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves true once synced, or false if stopped or `signal` aborts first. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (this.stopped || signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter = (synced: boolean): void => {
        signal?.removeEventListener("abort", onAbort);
        resolve(synced);
      };
      const onAbort = (): void => {
        this.syncWaiters.delete(waiter);
        resolve(false);
      };
      this.syncWaiters.add(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Cached objects, optionally of one namespace; empty before the first sync. */
  list(namespace?: string): readonly T[] {
    return this.active?.source.list(namespace) ?? [];
  }

  /** One cached object; omit `namespace` for cluster-scoped kinds. */
  get(name: string, namespace?: string): T | undefined {
    return this.active?.source.get(name, namespace);
  }

  /** Restarts after errors or staleness (not counting periodic relists). For `aegis_watch_restarts_total`. */
  get restarts(): number {
    return this.restartCount;
  }

  /** Periodic relists done so far. */
  get relists(): number {
    return this.relistCount;
  }

  /** Milliseconds since the last event or watch (re)connect; undefined before `start()`. For `aegis_watch_last_event_age_seconds`. */
  lastEventAgeMs(): number | undefined {
    return this.lastSeenAt === undefined ? undefined : this.clock.now() - this.lastSeenAt;
  }

  private fields(gen?: Generation<T>): Record<string, unknown> {
    return gen ? { informer: this.name, generation: gen.id } : { informer: this.name };
  }

  private touch(): void {
    this.lastSeenAt = this.clock.now();
  }

  /** Starts a new generation (list + watch) unless one is already listing. */
  private launch(reason: string): void {
    if (this.stopped || this.syncing) return;
    const gen: Generation<T> = { id: ++this.generationCount, source: this.createSource(), failed: false };
    this.syncing = gen;
    this.touch();
    this.wire(gen);
    this.logger.info({ ...this.fields(gen), reason }, "informer listing");
    gen.source.start().then(
      () => this.onListed(gen),
      (err: unknown) => this.onError(gen, err),
    );
  }

  private wire(gen: Generation<T>): void {
    const changed = (obj: T): void => {
      stripManagedFields(obj);
      this.onObject(gen, obj, "onChange");
    };
    gen.source.on("add", changed);
    gen.source.on("update", changed);
    gen.source.on("delete", (obj: T) => this.onObject(gen, obj, "onDelete"));
    gen.source.on("error", (err?: unknown) => this.onError(gen, err));
    gen.source.on("connect", () => {
      if (gen === this.active || gen === this.syncing) this.touch();
    });
  }

  /** Events of a generation that is still listing are dropped: its promotion resyncs everything. */
  private onObject(gen: Generation<T>, obj: T, kind: keyof InformerEventHandler<T>): void {
    if (this.stopped) return;
    if (gen === this.syncing) this.touch();
    if (gen !== this.active) return;
    this.touch();
    this.notify(kind, obj);
  }

  private onListed(gen: Generation<T>): void {
    if (this.stopped || gen !== this.syncing || gen.failed) {
      // client-node opens the watch even when stopped during its list; close it again.
      void this.stopSource(gen);
      return;
    }
    const previous = this.active;
    this.active = gen;
    this.syncing = undefined;
    gen.liveSince = this.clock.now();
    this.touch();
    if (previous) void this.stopSource(previous);
    this.resync(previous, gen);
    this.markSynced();
    this.scheduleRelist();
  }

  /** Reports objects that vanished since the previous generation, then every current object. */
  private resync(previous: Generation<T> | undefined, current: Generation<T>): void {
    let deleted = 0;
    for (const old of previous?.source.list() ?? []) {
      const name = old.metadata?.name ?? "";
      if (current.source.get(name, old.metadata?.namespace) !== undefined) continue;
      this.notify("onDelete", old);
      deleted += 1;
    }
    const objects = current.source.list();
    for (const obj of objects) this.notify("onChange", obj);
    this.logger.info({ ...this.fields(current), objects: objects.length, deleted }, "informer synced");
  }

  private markSynced(): void {
    if (this.synced) return;
    this.synced = true;
    for (const waiter of this.syncWaiters) waiter(true);
    this.syncWaiters.clear();
  }

  private notify(kind: keyof InformerEventHandler<T>, obj: T): void {
    for (const handler of this.handlers) {
      try {
        handler[kind]?.(obj);
      } catch (err) {
        this.logger.error(
          { ...this.fields(), handler: kind, err, error: describeError(err) },
          "informer handler failed",
        );
      }
    }
  }

  /** An error ends a generation; the cache it built keeps serving reads until a new one lists. */
  private onError(gen: Generation<T>, err: unknown): void {
    if (this.stopped || gen.failed) return;
    gen.failed = true;
    const current = gen === this.syncing || (gen === this.active && !this.syncing);
    if (!current || this.cancelRestart) return;
    if (gen === this.syncing) this.syncing = undefined;
    void this.stopSource(gen);
    this.scheduleRestart(gen, err);
  }

  private scheduleRestart(gen: Generation<T>, err: unknown): void {
    this.restartCount += 1;
    const now = this.clock.now();
    if (gen.liveSince !== undefined && now - gen.liveSince >= this.backoffResetMs) this.consecutiveFailures = 0;
    const delayMs = backoffDelay(this.consecutiveFailures, this.restartBackoff, this.random());
    this.consecutiveFailures += 1;
    this.logger.warn(
      { ...this.fields(gen), err, error: describeError(err), delayMs, restarts: this.restartCount },
      "informer failed; restarting after backoff",
    );
    this.cancelRestart = this.clock.setTimer(() => {
      this.cancelRestart = undefined;
      this.launch("restart");
    }, delayMs);
  }

  private scheduleRelist(): void {
    this.cancelRelist?.();
    this.cancelRelist = undefined;
    if (this.relistIntervalMs <= 0) return;
    this.cancelRelist = this.clock.setTimer(() => {
      this.cancelRelist = undefined;
      this.relistCount += 1;
      this.launch("relist");
    }, this.relistIntervalMs);
  }

  private scheduleWatchdog(): void {
    const staleAfterMs = this.staleAfterMs;
    if (staleAfterMs === undefined || this.stopped) return;
    this.cancelWatchdog = this.clock.setTimer(
      () => {
        this.checkStaleness(staleAfterMs);
        this.scheduleWatchdog();
      },
      Math.max(staleAfterMs / 4, 100),
    );
  }

  /** A silent watch (or a list that never returns) is replaced by a new generation. */
  private checkStaleness(staleAfterMs: number): void {
    const age = this.lastEventAgeMs();
    if (this.stopped || this.cancelRestart || age === undefined || age <= staleAfterMs) return;
    this.restartCount += 1;
    this.logger.warn(
      { ...this.fields(this.syncing ?? this.active), silentMs: age, restarts: this.restartCount },
      "informer went silent; restarting",
    );
    const stuck = this.syncing;
    this.syncing = undefined;
    if (stuck) void this.stopSource(stuck);
    // The active generation keeps serving (and stays subscribed) until the new list replaces it.
    this.launch("stale");
  }

  private async stopSource(gen: Generation<T>): Promise<void> {
    try {
      await gen.source.stop();
    } catch (err) {
      this.logger.warn({ ...this.fields(gen), err, error: describeError(err) }, "stopping an informer source failed");
    }
  }
}

/**
 * Drops `metadata.managedFields` from an object as it enters the cache, in place, as
 * controller-runtime's TransformStripManagedFields does: AEGIS reads field managers with a live
 * GET where it needs them, and in a cache of 10 000 ApprovalRequests they are a large share of
 * the memory (each status patch and decision adds a manager entry).
 */
export function stripManagedFields(obj: KubernetesObject): void {
  if (obj.metadata?.managedFields !== undefined) delete obj.metadata.managedFields;
}
