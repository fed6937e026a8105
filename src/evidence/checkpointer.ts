// aegis serve's checkpoint signer: every `intervalMs` while records arrive, and once more at
// close, it signs a checkpoint over the whole log and stores it in evidence_checkpoints. Each
// replica holding the key runs one; the store's lock makes their checkpoints strictly grow.
// Before signing it checks the log still extends the last stored checkpoint, so a log rewritten
// behind the ledger is refused and logged rather than signed.
import type { Logger } from "../ports/logger.js";
import type { StoredCheckpoint } from "./chain/bundle.js";
import type { SigningKey } from "./chain/signing.js";
import { storeCheckpoint } from "./export.js";
import type { EvidenceStore } from "./store/evidence-store.js";

export const DEFAULT_CHECKPOINT_INTERVAL_MS = 10_000;

export interface CheckpointerOptions {
  readonly store: EvidenceStore;
  readonly key: SigningKey;
  readonly origin: string;
  readonly intervalMs: number;
  readonly logger: Logger;
  readonly now?: () => Date;
}

export class Checkpointer {
  private readonly timer: NodeJS.Timeout;
  private running: Promise<StoredCheckpoint | undefined> | undefined;
  private lastSize = -1;

  constructor(private readonly options: CheckpointerOptions) {
    this.timer = setInterval(() => void this.tick(), options.intervalMs);
    this.timer.unref();
  }

  /** Signs and stores a checkpoint now if the log grew; never throws (logs instead). */
  async checkpoint(): Promise<StoredCheckpoint | undefined> {
    while (this.running !== undefined) await this.running.catch(() => undefined);
    this.running = this.signNow();
    try {
      return await this.running;
    } finally {
      this.running = undefined;
    }
  }

  /** Stops the timer and signs a last checkpoint; call before the database closes. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.checkpoint();
  }

  // Cheap when idle: a count, and the signing transaction only when it changed.
  private async tick(): Promise<void> {
    if (this.running !== undefined) return;
    try {
      if ((await this.options.store.count()) === this.lastSize) return;
    } catch {
      return; // database unreachable: the next tick tries again
    }
    await this.checkpoint();
  }

  private async signNow(): Promise<StoredCheckpoint | undefined> {
    const { store, key, origin, logger } = this.options;
    try {
      const stored = await storeCheckpoint(store, { key, origin, now: (this.options.now ?? (() => new Date()))() });
      if (stored !== undefined) {
        this.lastSize = stored.checkpoint.checkpoint.size;
        logger.info(
          { size: this.lastSize, rootHash: stored.checkpoint.checkpoint.rootHash },
          "evidence: checkpoint signed",
        );
      }
      return stored;
    } catch (err) {
      logger.error({ err }, "evidence: checkpoint not signed");
      return undefined;
    }
  }
}
