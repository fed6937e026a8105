/**
 * Hints between replicas and to live views (dashboard SSE): "this changed, re-read it". Delivery
 * is at most once; a subscriber re-reads the truth (Kubernetes, PostgreSQL) instead of trusting
 * the payload, so a lost message costs freshness, never correctness.
 */
export type BusTopic = "approval" | "policy" | "threat" | "evidence" | "selfhealing";

export interface BusMessage {
  readonly topic: BusTopic;
  /** What changed, e.g. `prod/deployment-web-3f2a9c1b0d` for an ApprovalRequest. */
  readonly key: string;
  /** Small, JSON-serialisable facts for display (phase, who decided); never secrets. */
  readonly data?: Readonly<Record<string, unknown>>;
  /** The replica that published it (set by the bus). */
  readonly origin?: string;
}

export interface EventBus {
  /** Never throws: an unreachable broker degrades to local delivery and is logged. */
  publish(message: BusMessage): Promise<void>;
  /** Returns the unsubscribe function. Handlers get messages from every replica, this one included. */
  subscribe(handler: (message: BusMessage) => void): () => void;
  close(): Promise<void>;
}

/** Counters a bus exposes for /metrics; the in-process bus reports only local deliveries. */
export interface BusStats {
  readonly kind: "redis" | "in-process";
  /** Messages handed to `publish`. */
  readonly published: number;
  /** Publishes that did not reach the broker (delivered locally only). */
  readonly publishFailures: number;
  /** Valid messages received from other replicas. */
  readonly received: number;
  /** Messages from the broker that were ignored because they did not parse or validate. */
  readonly malformed: number;
  /** True while the bus can both publish and receive across replicas. */
  readonly connected: boolean;
}

/** An EventBus that reports its counters. */
export interface ObservableEventBus extends EventBus {
  stats(): BusStats;
}
