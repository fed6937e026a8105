import type { BusMessage, BusStats, ObservableEventBus } from "../../ports/bus.js";
import { silentLogger, type Logger } from "../../ports/logger.js";
import { deliverToHandlers } from "./wire.js";

/** The bus when REDIS_URL is unset: delivery within this process only (one replica). */
export class InProcessBus implements ObservableEventBus {
  private readonly handlers = new Set<(message: BusMessage) => void>();
  private published = 0;

  constructor(
    private readonly origin = "local",
    private readonly logger: Logger = silentLogger,
  ) {}

  publish(message: BusMessage): Promise<void> {
    const stamped = { ...message, origin: this.origin };
    this.published += 1;
    deliverToHandlers(this.handlers, stamped, this.logger);
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
