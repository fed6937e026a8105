// The generic controller runtime: work queue, rate limiters, controller workers, informer
// wrapper and leader election. It knows no AEGIS kinds (DESIGN/STYLE §3 dependency rules).
export { sleep, systemClock, type CancelTimer, type Clock, type RandomSource } from "./clock.js";
export { Controller, type ControllerOptions, type ReconcileFn, type ReconcileResult } from "./controller.js";
export { describeError, isTerminalError, TerminalError } from "./errors.js";
export {
  listWatchSource,
  ResilientInformer,
  type InformerEventHandler,
  type InformerOptions,
  type InformerSource,
  type InformerSourceFactory,
  type ListWatchSourceOptions,
} from "./informer.js";
export { keyOf, objectKey, parseKey, type ObjectRef } from "./keys.js";
export {
  defaultIdentity,
  LeaderElector,
  type LeaderElectorOptions,
  type LeaseApi,
  type StopOptions,
} from "./leader-election.js";
export {
  isHeldByOther,
  leaseSpecFor,
  nextRecord,
  observeLease,
  readLeaseRecord,
  releasedRecord,
  shouldAcquire,
  timestampMs,
  type LeaseObservation,
  type LeaseRecord,
} from "./lease.js";
export { silentLogger, type LogFields, type Logger } from "../ports/logger.js";
export {
  backoffDelay,
  defaultControllerRateLimiter,
  ExponentialBackoffRateLimiter,
  MaxOfRateLimiter,
  TokenBucketRateLimiter,
  type ExponentialBackoffOptions,
  type RateLimiter,
  type TokenBucketOptions,
} from "./rate-limiter.js";
export { WorkQueue, type WorkQueueOptions } from "./work-queue.js";
