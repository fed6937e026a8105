// What risk is scored against: the spec a human last approved for the workload, so a risky
// change split into small steps, each under autoApproveBelow, still scores as the whole.
import type { ApprovalRequest } from "../api/v1alpha1/index.js";
import { imageSourceOf } from "../policy/index.js";
import { workloadView } from "../risk/index.js";

export interface ApprovalTarget {
  kind: string;
  namespace: string;
  name: string;
}

const parsed = new WeakMap<ApprovalRequest, Record<string, unknown> | null>();

function specOf(request: ApprovalRequest): Record<string, unknown> | null {
  let spec = parsed.get(request);
  if (spec === undefined) {
    try {
      const value: unknown = JSON.parse(request.spec.changeSpec ?? "null");
      spec =
        typeof value === "object" && value !== null && !Array.isArray(value)
          ? (value as Record<string, unknown>)
          : null;
    } catch {
      // Only AEGIS writes changeSpec, and the approval guard keeps it as written: unreadable means absent.
      spec = null;
    }
    parsed.set(request, spec);
  }
  return spec;
}

/**
 * The spec of the target's most recently decided request that humans approved (phase Approved,
 * or Used once its single use admitted it; a reviewed break-glass change counts), from its
 * `changeSpec`; undefined when there is none.
 */
export function lastApprovedSpec(
  requests: readonly ApprovalRequest[],
  target: ApprovalTarget,
): Record<string, unknown> | undefined {
  let latest: { at: string; spec: Record<string, unknown> } | undefined;
  for (const request of requests) {
    const { kind, namespace, name } = request.spec.target;
    if (kind !== target.kind || namespace !== target.namespace || name !== target.name) continue;
    const phase = request.status?.phase;
    if ((phase !== "Approved" && phase !== "Used") || request.spec.access) continue;
    const spec = specOf(request);
    const at = request.status?.decidedAt ?? "";
    if (spec !== null && (latest === undefined || at > latest.at)) latest = { at, spec };
  }
  return latest?.spec;
}

/** Approved by humans (Approved, or Used by its single admission), and a change rather than access or an exception. */
function approvedChange(request: ApprovalRequest): boolean {
  const phase = request.status?.phase;
  return (phase === "Approved" || phase === "Used") && !request.spec.access && request.spec.changeSpec !== undefined;
}

/** What humans approved among these requests (one namespace's): for the factors that need a baseline. */
export interface ApprovedHistory {
  /** Image sources (registry and organisation, see imageSourceOf), for new-registry. */
  readonly sources: readonly string[];
  /** Image repositories (`registry/repository`), for new-image. */
  readonly repositories: readonly string[];
  /** Who asked for the approved changes, for new-owner. */
  readonly requesters: readonly string[];
}

const histories = new WeakMap<readonly ApprovalRequest[], ApprovedHistory | null>();
const images = new WeakMap<ApprovalRequest, readonly { source: string; repository: string }[]>();

/** An approved request's image sources and repositories, worked out once per cached object. */
function imagesOf(
  request: ApprovalRequest,
  spec: Record<string, unknown>,
): readonly { source: string; repository: string }[] {
  let found = images.get(request);
  if (found === undefined) {
    found = workloadView(request.spec.target.kind, { spec }).images.map((image) => ({
      source: imageSourceOf(image),
      repository: `${image.registry}/${image.repository}`,
    }));
    images.set(request, found);
  }
  return found;
}

/**
 * The images and requesters of every change humans approved among these requests; undefined when
 * nothing was approved there yet (no baseline). Memoised per array: the cache's namespace index
 * hands out a new array only when the namespace's requests change.
 */
export function approvedHistoryOf(requests: readonly ApprovalRequest[]): ApprovedHistory | undefined {
  const memo = histories.get(requests);
  if (memo !== undefined) return memo ?? undefined;
  const sources = new Set<string>();
  const repositories = new Set<string>();
  const requesters = new Set<string>();
  for (const request of requests) {
    if (!approvedChange(request)) continue;
    const spec = specOf(request);
    if (spec === null) continue;
    requesters.add(request.spec.requester.username);
    for (const image of imagesOf(request, spec)) {
      sources.add(image.source);
      repositories.add(image.repository);
    }
  }
  const history =
    requesters.size === 0
      ? null
      : { sources: [...sources], repositories: [...repositories], requesters: [...requesters] };
  histories.set(requests, history);
  return history ?? undefined;
}
