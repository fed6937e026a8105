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

/** The label Argo CD tracks the objects of an Application by (its default tracking method). */
export const ARGOCD_INSTANCE_LABEL = "app.kubernetes.io/instance";
/** Argo CD's annotation tracking: `<app>:<group>/<kind>:<namespace>/<name>`. */
export const ARGOCD_TRACKING_ANNOTATION = "argocd.argoproj.io/tracking-id";

/**
 * Labels and annotations that put an ApprovalRequest into the resource tree of the Argo CD
 * Application that applied the change it gates (so its health check shows the request and the
 * approve command beside the workload), without making the Application OutOfSync or letting Argo
 * CD prune it: the request is not in Git. Empty for an object no Application tracks.
 */
export function argoCdTrackingOf(
  object: unknown,
  request: { namespace: string; name: string },
): { labels: Record<string, string>; annotations: Record<string, string> } {
  const metadata =
    (object as { metadata?: { labels?: Record<string, unknown>; annotations?: Record<string, unknown> } } | null)
      ?.metadata ?? {};
  const labels: Record<string, string> = {};
  const annotations: Record<string, string> = {};
  const instance = metadata.labels?.[ARGOCD_INSTANCE_LABEL];
  if (typeof instance === "string" && /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(instance))
    labels[ARGOCD_INSTANCE_LABEL] = instance;
  const tracking = metadata.annotations?.[ARGOCD_TRACKING_ANNOTATION];
  const app = typeof tracking === "string" ? /^([^:]{1,253}):/.exec(tracking)?.[1] : undefined;
  if (app)
    annotations[ARGOCD_TRACKING_ANNOTATION] =
      `${app}:aegis.valina.ai/ApprovalRequest:${request.namespace}/${request.name}`;
  if (Object.keys(labels).length === 0 && Object.keys(annotations).length === 0) return { labels, annotations };
  annotations["argocd.argoproj.io/compare-options"] = "IgnoreExtraneous";
  annotations["argocd.argoproj.io/sync-options"] = "Prune=false,Delete=false";
  return { labels, annotations };
}

/** The Argo CD Application that applied an object, from its tracking label or annotation. */
export function argoCdApplicationOf(object: unknown): string | undefined {
  const { labels, annotations } = argoCdTrackingOf(object, { namespace: "", name: "" });
  const fromAnnotation = annotations[ARGOCD_TRACKING_ANNOTATION]?.split(":")[0];
  return fromAnnotation || labels[ARGOCD_INSTANCE_LABEL];
}

const GITHUB_REPO_URL =
  /^(?:https:\/\/|ssh:\/\/git@|git@)github\.com[/:]([A-Za-z0-9_.-]+)\/([A-Za-z0-9_.-]+?)(?:\.git)?\/?$/;

/**
 * The commit an Argo CD Application is syncing (its running operation's revision, else the
 * revision it last compared) and, for a GitHub repoURL, the repository, as the git annotations
 * AEGIS copies onto an ApprovalRequest; empty when the Application says neither.
 */
export function argoCdCommitAnnotations(application: unknown): Record<string, string> {
  const app = application as {
    spec?: { source?: { repoURL?: unknown } };
    status?: { operationState?: { operation?: { sync?: { revision?: unknown } } }; sync?: { revision?: unknown } };
  } | null;
  const revision = [app?.status?.operationState?.operation?.sync?.revision, app?.status?.sync?.revision].find(
    (value): value is string => typeof value === "string" && COMMIT.test(value),
  );
  if (!revision) return {};
  const repoURL = app?.spec?.source?.repoURL;
  const github = typeof repoURL === "string" ? GITHUB_REPO_URL.exec(repoURL) : null;
  return {
    [GIT_COMMIT_ANNOTATION]: revision,
    ...(github ? { [GIT_REPOSITORY_ANNOTATION]: `${github[1] ?? ""}/${github[2] ?? ""}` } : {}),
  };
}
