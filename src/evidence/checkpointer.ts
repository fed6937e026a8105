// aegis serve's checkpoint signer: every `intervalMs` while records arrive, and once more at
// close, the leader signs a checkpoint over the whole log, stores it in evidence_checkpoints and
// publishes it outside the database (witnesses, the guarded ConfigMap). The store's lock keeps
// stored checkpoints strictly growing even when a former leader still signs. Before signing it
// checks the log still extends the last stored checkpoint, so a log rewritten behind the ledger
// is refused and logged rather than signed.
import type { KeyObject } from "node:crypto";
import type { Logger } from "../ports/logger.js";
import type { StoredCheckpoint } from "./chain/bundle.js";
import { LogFold, nextCheckpointOf } from "./chain/bundle.js";
import { recordLeafHash, StreamedConsistencyProof } from "./chain/merkle.js";
import { signCheckpointNote } from "./chain/note.js";
import type { SigningKey } from "./chain/signing.js";
import type { CheckpointPublisher, ConsistencyFrom } from "./publish/publisher.js";
import type { EvidenceStore } from "./store/evidence-store.js";

export const DEFAULT_CHECKPOINT_INTERVAL_MS = 10_000;

export interface CheckpointerOptions {
  readonly store: EvidenceStore;
  readonly key: SigningKey;
  readonly origin: string;
  readonly intervalMs: number;
  readonly logger: Logger;
  readonly publishers?: readonly CheckpointPublisher[];
  /** Only the leader signs and publishes (default: always, for a single replica and tests). */
  readonly isLeader?: () => boolean;
  readonly now?: () => Date;
}

export interface PublishFailure {
  readonly publisher: string;
  readonly error: unknown;
}

export class Checkpointer {
  private readonly timer: NodeJS.Timeout;
  private running: Promise<StoredCheckpoint | undefined> | undefined;
  private lastSize = -1;
  private ledLastTick = false;
  private readonly failures = new Map<string, number>();

  constructor(private readonly options: CheckpointerOptions) {
    this.timer = setInterval(() => void this.tick(), options.intervalMs);
    this.timer.unref();
  }

  /** The key checkpoints are signed with (the published object's guard checks against it). */
  get publicKey(): KeyObject {
    return this.options.key.publicKey;
  }

  /** Records covered by the newest stored checkpoint seen (-1 before the first). */
  get newestSize(): number {
    return this.lastSize;
  }

  /** Publish attempts that failed, per destination (a metric). */
  publishFailures(): ReadonlyMap<string, number> {
    return this.failures;
  }

  /**
   * Signs and stores a checkpoint now if the log grew, then brings every publisher up to the
   * newest stored checkpoint. Never throws (logs instead). Returns the newest stored checkpoint.
   */
  async checkpoint(): Promise<StoredCheckpoint | undefined> {
    while (this.running !== undefined) await this.running.catch(() => undefined);
    this.running = this.signAndPublish();
    try {
      return await this.running;
    } finally {
      this.running = undefined;
    }
  }

  /** Stops the timer and, if this replica led until now, signs a last checkpoint; call before the database closes. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    if (this.isLeader() || this.ledLastTick) await this.checkpoint();
  }

  private isLeader(): boolean {
    return this.options.isLeader?.() ?? true;
  }

  // Cheap when idle: a count, and the signing transaction only when it changed or a publisher is behind.
  private async tick(): Promise<void> {
    this.ledLastTick = this.isLeader();
    if (this.running !== undefined || !this.ledLastTick) return;
    try {
      const size = await this.options.store.count();
      const behind = (this.options.publishers ?? []).some((p) => p.publishedSize() !== this.lastSize);
      if (size === this.lastSize && !behind) return;
    } catch {
      return; // database unreachable: the next tick tries again
    }
    await this.checkpoint();
  }

  private async signAndPublish(): Promise<StoredCheckpoint | undefined> {
    const { store, key, origin, logger } = this.options;
    let newest: StoredCheckpoint | undefined;
    try {
      const signed = await store.appendCheckpoint(async (scanLog, previous) => {
        newest = previous;
        // storeCheckpoint's way, O(log n) memory whatever the log's size.
        const fold = new LogFold(previous?.checkpoint.checkpoint.size);
        await scanLog((hash) => fold.add(hash));
        const now = (this.options.now ?? (() => new Date()))();
        const next = nextCheckpointOf(fold, previous, { key, origin, now });
        newest = next ?? previous;
        return next;
      });
      if (signed !== undefined) {
        logger.info(
          { size: signed.checkpoint.checkpoint.size, rootHash: signed.checkpoint.checkpoint.rootHash },
          "evidence: checkpoint signed",
        );
      }
    } catch (err) {
      logger.error({ err }, "evidence: checkpoint not signed");
      return undefined;
    }
    if (newest === undefined) return undefined;
    this.lastSize = newest.checkpoint.checkpoint.size;
    await this.publish(newest);
    return newest;
  }

  private async publish(newest: StoredCheckpoint): Promise<void> {
    const publishers = (this.options.publishers ?? []).filter((p) => p.publishedSize() !== this.lastSize);
    if (publishers.length === 0) return;
    const { checkpoint } = newest.checkpoint;
    const note = signCheckpointNote(checkpoint, this.options.key.privateKey);
    // One pass over the log per proof, O(log n) memory: no leaf list is ever held.
    const consistencyFrom: ConsistencyFrom = async (fromSize) => {
      if (fromSize === 0 || fromSize === checkpoint.size) return [];
      const proof = new StreamedConsistencyProof(fromSize, checkpoint.size);
      await this.options.store.scanHashes(checkpoint.size, (hash) => proof.add(recordLeafHash(hash)));
      return proof.proof();
    };
    for (const publisher of publishers) {
      try {
        await publisher.publish({ stored: newest, note }, consistencyFrom);
        this.options.logger.info({ size: checkpoint.size, to: publisher.name }, "evidence: checkpoint published");
      } catch (error) {
        this.failures.set(publisher.name, (this.failures.get(publisher.name) ?? 0) + 1);
        this.options.logger.error({ err: error, to: publisher.name }, "evidence: checkpoint not published");
      }
    }
  }
}
