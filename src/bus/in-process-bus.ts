import type { BusMessage, EventBus } from "../ports/bus.js";

/** The bus when REDIS_URL is unset: delivery within this process only (one replica). */
export class InProcessBus implements EventBus {
  private readonly handlers = new Set<(message: BusMessage) => void>();

  constructor(private readonly origin = "local") {}

  publish(message: BusMessage): Promise<void> {
    const stamped = { ...message, origin: this.origin };
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

  close(): Promise<void> {
    this.handlers.clear();
    return Promise.resolve();
  }
}
