// Pure leader-election decisions over a coordination.k8s.io/v1 Lease, after client-go's
// `tools/leaderelection` (leaderelection.go `tryAcquireOrRenew`, `release`). No I/O, no clock
// reads: the caller passes the lease it read and the current time.
import { V1MicroTime, type V1Lease, type V1LeaseSpec } from "@kubernetes/client-node";

/** The fields of a Lease that leader election uses, with times as epoch milliseconds. */
export interface LeaseRecord {
  /** Empty when nobody holds the lease (never set, or released). */
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  readonly acquireTimeMs?: number;
  readonly renewTimeMs?: number;
  readonly leaseTransitions: number;
}

/**
 * What one candidate knows about the lease: the record it last read, and *its own* clock time
 * when it first saw that record. Expiry is judged from `observedAtMs`, not from the holder's
 * `renewTime`, so clock skew between replicas cannot make a live lease look expired (client-go
 * does the same with `observedTime`).
 */
export interface LeaseObservation {
  readonly record: LeaseRecord;
  readonly observedAtMs: number;
}

/** Epoch ms of a Lease timestamp; client-node hands MicroTime fields back as strings or Dates. */
export function timestampMs(value: unknown): number | undefined {
  if (value instanceof Date) return value.getTime();
  if (typeof value !== "string") return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** The record of a Lease read from the apiserver; a missing duration falls back to `defaultDurationSeconds`. */
export function readLeaseRecord(lease: V1Lease, defaultDurationSeconds: number): LeaseRecord {
  const spec = lease.spec ?? {};
  const acquireTimeMs = timestampMs(spec.acquireTime);
  const renewTimeMs = timestampMs(spec.renewTime);
  return {
    holderIdentity: spec.holderIdentity ?? "",
    leaseDurationSeconds: spec.leaseDurationSeconds ?? defaultDurationSeconds,
    leaseTransitions: spec.leaseTransitions ?? 0,
    ...(acquireTimeMs === undefined ? {} : { acquireTimeMs }),
    ...(renewTimeMs === undefined ? {} : { renewTimeMs }),
  };
}

/** The Lease spec to write for `record`. MicroTime makes the apiserver accept the timestamps. */
export function leaseSpecFor(record: LeaseRecord): V1LeaseSpec {
  const spec: V1LeaseSpec = {
    holderIdentity: record.holderIdentity,
    leaseDurationSeconds: record.leaseDurationSeconds,
    leaseTransitions: record.leaseTransitions,
  };
  if (record.acquireTimeMs !== undefined) spec.acquireTime = new V1MicroTime(record.acquireTimeMs);
  if (record.renewTimeMs !== undefined) spec.renewTime = new V1MicroTime(record.renewTimeMs);
  return spec;
}

function sameRecord(a: LeaseRecord, b: LeaseRecord): boolean {
  return (
    a.holderIdentity === b.holderIdentity &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.acquireTimeMs === b.acquireTimeMs &&
    a.renewTimeMs === b.renewTimeMs &&
    a.leaseTransitions === b.leaseTransitions
  );
}

/** Records a read: an unchanged record keeps its first-seen time, a changed one starts now. */
export function observeLease(
  previous: LeaseObservation | undefined,
  record: LeaseRecord,
  nowMs: number,
): LeaseObservation {
  if (previous && sameRecord(previous.record, record)) return previous;
  return { record, observedAtMs: nowMs };
}

/** Whether someone else holds the lease and has renewed it within its duration, as far as we saw. */
export function isHeldByOther(observation: LeaseObservation, nowMs: number, identity: string): boolean {
  const { record, observedAtMs } = observation;
  if (record.holderIdentity === "" || record.holderIdentity === identity) return false;
  return observedAtMs + record.leaseDurationSeconds * 1000 > nowMs;
}

/** Whether `identity` may write itself into the lease now: it is free, expired, or already ours. */
export function shouldAcquire(observation: LeaseObservation, nowMs: number, identity: string): boolean {
  return !isHeldByOther(observation, nowMs, identity);
}

/**
 * The record `identity` writes to take or renew the lease. Renewing keeps `acquireTime` and the
 * transition count; taking it over from anyone else (or from nobody) counts one transition.
 */
export function nextRecord(
  current: LeaseRecord | undefined,
  identity: string,
  nowMs: number,
  leaseDurationSeconds: number,
): LeaseRecord {
  if (current?.holderIdentity === identity && current.acquireTimeMs !== undefined) {
    return { ...current, leaseDurationSeconds, renewTimeMs: nowMs };
  }
  return {
    holderIdentity: identity,
    leaseDurationSeconds,
    acquireTimeMs: nowMs,
    renewTimeMs: nowMs,
    leaseTransitions: current === undefined ? 0 : current.leaseTransitions + 1,
  };
}

/**
 * The record a leader writes when it steps down voluntarily: no holder and a 1 s duration, so
 * another candidate takes over on its next retry instead of waiting out the lease (client-go
 * `ReleaseOnCancel`).
 */
export function releasedRecord(current: LeaseRecord, nowMs: number): LeaseRecord {
  return {
    holderIdentity: "",
    leaseDurationSeconds: 1,
    acquireTimeMs: nowMs,
    renewTimeMs: nowMs,
    leaseTransitions: current.leaseTransitions,
  };
}
