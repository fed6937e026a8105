// Which ReplicaSet runs the Deployment's current template, and which older ones a rollback may
// return to: only a revision whose change was approved (DESIGN §3 changeHash) is a safe target.
import { computeChangeHash, sameJson } from "../changehash/index.js";
import { recordAt, type JsonRecord } from "../json/read-json.js";
import type { DeploymentView, ReplicaSetView } from "./views.js";

/** Label the Deployment controller adds to each ReplicaSet's template; not part of the change. */
export const POD_TEMPLATE_HASH_LABEL = "pod-template-hash";

/** A pod template as the Deployment would hold it: the controller's hash label removed. */
export function templateWithoutHashLabel(template: JsonRecord): JsonRecord {
  const copy = JSON.parse(JSON.stringify(template)) as { metadata?: { labels?: Record<string, string> } };
  if (copy.metadata?.labels) delete copy.metadata.labels[POD_TEMPLATE_HASH_LABEL];
  return copy;
}

function sameTemplate(a: JsonRecord, b: JsonRecord): boolean {
  return sameJson(templateWithoutHashLabel(a), templateWithoutHashLabel(b));
}

export function replicaSetsOf(deployment: DeploymentView, replicaSets: readonly ReplicaSetView[]): ReplicaSetView[] {
  return replicaSets.filter((rs) => rs.ownerUid === deployment.uid).sort((a, b) => b.revision - a.revision);
}

/**
 * The ReplicaSet whose template is the Deployment's (what the controller rolls out now); the
 * newest revision when none matches yet (the controller has not created it).
 */
export function currentReplicaSet(
  deployment: DeploymentView,
  owned: readonly ReplicaSetView[],
): ReplicaSetView | undefined {
  const template = recordAt(deployment.raw, "spec", "template") ?? {};
  return owned.find((rs) => sameTemplate(rs.template, template));
}

/** The changeHash the Deployment would have with `template` (same spec otherwise), as the gate computes it. */
export function changeHashWithTemplate(deployment: DeploymentView, template: JsonRecord): string {
  const spec = recordAt(deployment.raw, "spec") ?? {};
  return computeChangeHash({ spec: { ...spec, template: templateWithoutHashLabel(template) } });
}

export interface RevisionCandidate {
  readonly replicaSet: ReplicaSetView;
  readonly changeHash: string;
}

/**
 * Older revisions, newest first, with the changeHash each would restore. Revisions of the
 * current change are left out: a ReplicaSet that differs only by a restart stamp runs the same
 * change, and "rolling back" to it would be one more restart, not a failover.
 */
export function rollbackCandidates(deployment: DeploymentView, owned: readonly ReplicaSetView[]): RevisionCandidate[] {
  const currentHash = computeChangeHash(deployment.raw);
  return owned
    .map((replicaSet) => ({ replicaSet, changeHash: changeHashWithTemplate(deployment, replicaSet.template) }))
    .filter((candidate) => candidate.changeHash !== currentHash);
}

/** The newest candidate whose changeHash is approved: the rollback target, if any. */
export function lastApprovedRevision(
  candidates: readonly RevisionCandidate[],
  approved: ReadonlySet<string>,
): RevisionCandidate | undefined {
  return candidates.find((candidate) => approved.has(candidate.changeHash));
}
