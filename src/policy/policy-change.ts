import type { AegisPolicy } from "../api/v1alpha1/index.js";

type Identified = Pick<AegisPolicy, "metadata">;

const identityOf = (policy: Identified): string => policy.metadata.uid ?? policy.metadata.name ?? "";

/**
 * The evidence id of the policy.change record for one spec of one policy object. The webhook and
 * the AegisPolicy reconciler both use it, so the ledger (idempotent by id) keeps one record per
 * change: the webhook's, which names the user, since it is written before the object is stored.
 */
export function policyChangeId(policy: Identified, specHash: string): string {
  return `policy-change:${identityOf(policy)}:${specHash}`;
}

/** The evidence id of the policy.change record of a policy object's deletion (retries dedupe). */
export function policyDeletionId(policy: Identified): string {
  return `policy-change:${identityOf(policy)}:deleted`;
}
