// Where the healer learns which changes were approved: ApprovalRequests still in the cache (they
// are deleted some days after their decision) and, durably, the evidence ledger's
// admission.decision records (the gate admitted that changeHash because it was Approved).
import type { ApprovalRequest } from "../api/v1alpha1/index.js";
import type { ApprovedChangeReader } from "../ports/evidence.js";
import type { ObjectStore } from "../ports/kube.js";

export interface WorkloadRef {
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
}

/** Which of `hashes` were approved for the workload. */
export interface ApprovedChanges {
  approvedAmong(target: WorkloadRef, hashes: readonly string[]): Promise<ReadonlySet<string>>;
}

/** Approved ApprovalRequests in the informer cache. */
export function approvalRequestApprovals(store: Pick<ObjectStore<ApprovalRequest>, "list">): ApprovedChanges {
  return {
    approvedAmong: (target, hashes) => {
      const wanted = new Set(hashes);
      const found = store.list().filter((request) => {
        const t = request.spec.target;
        return (
          request.status?.phase === "Approved" &&
          t.kind === target.kind &&
          t.namespace === target.namespace &&
          t.name === target.name &&
          wanted.has(request.spec.changeHash)
        );
      });
      return Promise.resolve(new Set(found.map((request) => request.spec.changeHash)));
    },
  };
}

/** Admission reasons that mean a human approved exactly that change. */
export const APPROVED_DECISION_REASONS = ["Approved"] as const;

/**
 * Approved changes from the ledger: the changeHashes the gate admitted for the workload because
 * they were Approved (admission.decision records, found by subject).
 */
export function evidenceApprovals(
  ledger: ApprovedChangeReader,
  reasons: readonly string[] = APPROVED_DECISION_REASONS,
): ApprovedChanges {
  return {
    approvedAmong: async (target, hashes) => {
      if (hashes.length === 0) return new Set();
      const subject = `${target.kind}/${target.namespace}/${target.name}`;
      return ledger.admittedChangeHashes({ subject, changeHashes: hashes, reasons });
    },
  };
}

/** The union of several sources; a failing source is reported and counts as knowing nothing. */
export function anyApprovals(
  sources: readonly ApprovedChanges[],
  onError: (err: unknown) => void = () => undefined,
): ApprovedChanges {
  return {
    approvedAmong: async (target, hashes) => {
      const results = await Promise.all(
        sources.map((source) =>
          source.approvedAmong(target, hashes).catch((err: unknown) => {
            onError(err);
            return new Set<string>();
          }),
        ),
      );
      return new Set(results.flatMap((set) => [...set]));
    },
  };
}
