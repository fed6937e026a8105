// Where a signed checkpoint goes besides the database: places a database superuser cannot reach
// (a witness, a Kubernetes object guarded by the webhook), so that a log rewritten after the
// fact no longer matches what was published.
import type { StoredCheckpoint } from "../chain/bundle.js";

export interface PublishedCheckpoint {
  readonly stored: StoredCheckpoint;
  /** The same checkpoint as a C2SP signed note (note.ts), signed by the log key. */
  readonly note: string;
}

/** RFC 9162 §2.1.4 proof from the tree of `fromSize` leaves to the checkpoint being published. */
export type ConsistencyFrom = (fromSize: number) => Promise<readonly Buffer[]>;

export interface CheckpointPublisher {
  /** For logs: `witness https://…`, `ConfigMap aegis-system/aegis-evidence-checkpoint`. */
  readonly name: string;
  /** Size of the newest checkpoint this destination is known to hold (undefined: not known yet). */
  publishedSize(): number | undefined;
  /** Throws with the destination's reason when it refuses or cannot be reached. */
  publish(checkpoint: PublishedCheckpoint, consistencyFrom: ConsistencyFrom): Promise<void>;
}
