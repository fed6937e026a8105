// What /readyz asks of the evidence ledger. Pure: the ledger reports its state, this decides.
//
// A replica is ready for admission traffic while the gate's records can be made durable. A
// record that reaches neither the database nor the spool (disk full, read-only) is rejected and
// the gate denies the change; with failClosed, so is every record the database does not commit.
// A replica that rejected one recently is therefore not ready: traffic goes to a replica that
// can record (aegis_evidence_spool_write_failures_total, aegis_evidence_spool_depth and
// aegis_evidence_lag_seconds tell the story). No record ever waits only in memory. A closing
// ledger accepts nothing and is never ready.

/** The ledger's state, as far as readiness cares. */
export interface EvidenceHealth {
  /** record() takes records (the ledger is not closing). */
  readonly accepting: boolean;
  /** When record() last rejected a record (made durable nowhere, or not committed with failClosed); undefined: never. */
  readonly lastRejectedAt: Date | undefined;
}

/**
 * How long a rejection keeps the replica not ready: the chart's readiness probe period times its
 * failure threshold (10 s × 3), so a replica that keeps rejecting stays out of the Service, and
 * one that stopped rejecting is tried again half a minute later (an unready replica gets no
 * admissions, so only time can tell it that the database or the spool is back).
 */
export const REJECTION_UNREADY_MS = 30_000;

export function evidenceReady(health: EvidenceHealth, now: Date): boolean {
  if (!health.accepting) return false;
  if (health.lastRejectedAt === undefined) return true;
  return now.getTime() - health.lastRejectedAt.getTime() >= REJECTION_UNREADY_MS;
}
