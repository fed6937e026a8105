/** Annotations a workload (or its CI/GitOps tooling) sets to name the commit it was built from. */
export const GIT_REPOSITORY_ANNOTATION = "aegis.valina.ai/git-repository";
export const GIT_COMMIT_ANNOTATION = "aegis.valina.ai/git-commit";

const REPOSITORY = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;
const COMMIT = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;

export interface GitReference {
  repository: string;
  sha: string;
}

/**
 * The commit a change names: the commit annotation, in the repository annotation or else the
 * policy's default repository. Undefined when there is no commit or a value is malformed.
 */
export function gitReferenceOf(
  annotations: Readonly<Record<string, string>> | undefined,
  defaultRepository?: string,
): GitReference | undefined {
  const sha = annotations?.[GIT_COMMIT_ANNOTATION]?.trim().toLowerCase();
  const repository = annotations?.[GIT_REPOSITORY_ANNOTATION]?.trim() || defaultRepository;
  if (!sha || !COMMIT.test(sha) || !repository || !REPOSITORY.test(repository)) return undefined;
  return { repository, sha };
}

/**
 * The git annotations of an admitted object, for the gate to copy onto the ApprovalRequest it
 * creates: the object as it is *denied* is the only place the new commit appears, the live
 * workload still names the old one.
 */
export function gitAnnotationsOf(object: unknown): Record<string, string> {
  const annotations =
    (object as { metadata?: { annotations?: Record<string, unknown> } } | null)?.metadata?.annotations ?? {};
  const copied: Record<string, string> = {};
  for (const key of [GIT_REPOSITORY_ANNOTATION, GIT_COMMIT_ANNOTATION]) {
    const value = annotations[key];
    if (typeof value === "string" && value.length > 0 && value.length <= 256) copied[key] = value;
  }
  return copied;
}
