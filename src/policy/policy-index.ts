import type { LabelSelector } from "../api/v1alpha1/index.js";
import type { CompiledPolicy } from "./compile.js";
import type { GateRequest } from "./types.js";

export type IndexedRequest = Pick<GateRequest, "namespace" | "namespaceLabels">;

/**
 * The policies that may match a request, in their original order: a superset of those whose
 * `match` accepts it, found without testing every policy. A policy is filed under what its match
 * requires of the namespace: the names in `match.namespaces`, else one label pair every matching
 * namespace must carry (a `matchLabels` entry, or the values of an `In` expression), else nothing
 * (it is a candidate everywhere). Everything else about matching is left to `policyMatches`.
 */
export interface PolicyIndex {
  candidates(request: IndexedRequest): readonly CompiledPolicy[];
}

const labelKey = (key: string, value: string): string => `${key}\u0000${value}`;

/** Label pairs one of which a namespace needs to match `selector`; undefined when it needs none. */
function requiredLabelPairs(selector: LabelSelector | undefined): string[] | undefined {
  const matchLabels = Object.entries(selector?.matchLabels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const [first] = matchLabels;
  if (first !== undefined) return [labelKey(first[0], first[1])];
  const oneOf = selector?.matchExpressions?.find(
    (expression) => expression.operator === "In" && (expression.values?.length ?? 0) > 0,
  );
  return oneOf === undefined ? undefined : [...new Set(oneOf.values)].map((value) => labelKey(oneOf.key, value));
}

function file(buckets: Map<string, number[]>, key: string, position: number): void {
  const bucket = buckets.get(key);
  if (bucket === undefined) buckets.set(key, [position]);
  else bucket.push(position);
}

function buildIndex(policies: readonly CompiledPolicy[]): PolicyIndex {
  const byNamespace = new Map<string, number[]>();
  const byLabel = new Map<string, number[]>();
  const everywhere: number[] = [];
  policies.forEach((policy, position) => {
    if (policy.match.namespaces !== undefined) {
      for (const namespace of policy.match.namespaces) file(byNamespace, namespace, position);
      return;
    }
    const pairs = requiredLabelPairs(policy.spec.match.namespaceSelector);
    if (pairs === undefined) everywhere.push(position);
    else for (const pair of pairs) file(byLabel, pair, position);
  });
  return {
    candidates(request) {
      const lists = [everywhere, byNamespace.get(request.namespace) ?? []];
      for (const [key, value] of Object.entries(request.namespaceLabels)) {
        const bucket = byLabel.get(labelKey(key, value));
        if (bucket !== undefined) lists.push(bucket);
      }
      // No position is in two of these lists: a policy sits in one kind of bucket, and a request
      // has one namespace and one value per label key (an `In` files it once per value).
      return lists
        .flat()
        .sort((a, b) => a - b)
        .flatMap((position) => policies[position] ?? []);
    },
  };
}

// One index per policy set: the informer hands out the same array until a policy changes.
const indexes = new WeakMap<readonly CompiledPolicy[], PolicyIndex>();

export function policyIndexOf(policies: readonly CompiledPolicy[]): PolicyIndex {
  let index = indexes.get(policies);
  if (index === undefined) {
    index = buildIndex(policies);
    indexes.set(policies, index);
  }
  return index;
}
