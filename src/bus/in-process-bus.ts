import type { BusMessage } from "../ports/bus.js";
import type { BusStats, ObservableEventBus } from "./bus-message.js";

/** The bus when REDIS_URL is unset: delivery within this process only (one replica). */
export class InProcessBus implements ObservableEventBus {
  private readonly handlers = new Set<(message: BusMessage) => void>();
  private published = 0;

  constructor(private readonly origin = "local") {}

  publish(message: BusMessage): Promise<void> {
    const stamped = { ...message, origin: this.origin };
    this.published += 1;
    for (const handler of this.handlers) {
      try {
        handler(stamped);
      } catch {
        // A failing subscriber must not stop delivery to the others; subscribers log their own errors.
      }
    }
    return Promise.resolve();
  }

  subscribe(handler: (message: BusMessage) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  stats(): BusStats {
    return {
      kind: "in-process",
      published: this.published,
      publishFailures: 0,
      received: 0,
      malformed: 0,
      connected: true,
    };
  }

  close(): Promise<void> {
    this.handlers.clear();
    return Promise.resolve();
  }
}
