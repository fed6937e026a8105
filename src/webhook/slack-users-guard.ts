import { z } from "zod";
import type { Identity } from "../api/identity.js";
import type { EvidenceRecorder } from "../ports/evidence.js";
import {
  diffSlackMappings,
  parseSlackUserEntry,
  slackMappingHash,
  type SlackMappingDiff,
  type SlackMappingReviewer,
} from "../ports/notify.js";
import { allow, deny, type AdmissionRequest, type AdmissionResponse } from "./admission-review.js";

export interface SlackUsersGuardDependencies {
  evidence: EvidenceRecorder;
  /** May the writer act as the username an entry maps to (SubjectAccessReview, `impersonate`). */
  slackMappingReviewer: SlackMappingReviewer;
}

const configMapSchema = z
  .object({
    metadata: z.object({ uid: z.string().optional(), resourceVersion: z.string().optional() }).loose().optional(),
    data: z.record(z.string(), z.string()).optional(),
  })
  .loose();
type ConfigMapSlice = z.infer<typeof configMapSchema>;

/**
 * Guards ConfigMap aegis-slack-users in AEGIS's namespace: a Slack user mapped to `alice` acts as
 * alice, so whoever adds or changes an entry must be able to act as its username in Kubernetes
 * already: be that user, or pass a SubjectAccessReview for `impersonate` on it (what
 * `kubectl --as alice` takes). RBAC to edit ConfigMaps there (`edit` in AEGIS's namespace) is not
 * enough. An added or changed entry that maps nobody (`alice;sre-leads`: groups are not taken from
 * the map; empty; control characters) is refused with the reason; entries left as they are, and
 * removals, are not checked again. Every admitted change (not dryRun), DELETE included, is a
 * policy.change record naming the user who made it, with the entries added, removed and changed.
 */
export async function admitSlackUsersMap(
  admission: AdmissionRequest,
  deps: SlackUsersGuardDependencies,
): Promise<AdmissionResponse> {
  if (admission.operation === "CONNECT") return allow(admission.uid);
  const before = admission.operation === "CREATE" ? undefined : sliceOf(admission.oldObject);
  const after = admission.operation === "DELETE" ? undefined : sliceOf(admission.object);
  const diff = diffSlackMappings(before?.data ?? {}, after?.data ?? {});
  const writer: Identity = { username: admission.userInfo.username, groups: admission.userInfo.groups };
  const problems = await entryProblems(diff, writer, deps.slackMappingReviewer);
  if (problems.length > 0)
    return deny(admission.uid, `aegis: ConfigMap ${admission.namespace}/${admission.name}: ${problems.join("; ")}`);
  if (!admission.dryRun) await record(admission, { before, after, diff }, deps.evidence);
  return allow(admission.uid);
}

/** Why the added and changed entries may not be stored; empty when they may. */
async function entryProblems(
  diff: SlackMappingDiff,
  writer: Identity,
  reviewer: SlackMappingReviewer,
): Promise<string[]> {
  const written = [
    ...Object.entries(diff.added),
    ...Object.entries(diff.changed).map(([id, c]) => [id, c.to] as const),
  ];
  const problems: string[] = [];
  const needed = new Map<string, string[]>();
  for (const [slackUserId, value] of written) {
    const entry = parseSlackUserEntry(value);
    if ("refused" in entry) problems.push(`entry ${slackUserId}: ${entry.refused}`);
    else if (entry.username !== writer.username)
      needed.set(entry.username, [...(needed.get(entry.username) ?? []), slackUserId]);
  }
  const verdicts = await Promise.all(
    [...needed.keys()].map(async (username) => [username, await reviewer.mayActAs(writer, username)] as const),
  );
  for (const [username, allowed] of verdicts) {
    if (allowed) continue;
    const ids = (needed.get(username) ?? []).join(", ");
    problems.push(
      `${writer.username || "(unknown)"} may not map Slack user ${ids} to ${username}: that lets the Slack user act as ${username}, which takes permission to impersonate ${username} in Kubernetes (verb impersonate on users, or on serviceaccounts for a service account)`,
    );
  }
  return problems;
}

async function record(
  admission: AdmissionRequest,
  change: { before: ConfigMapSlice | undefined; after: ConfigMapSlice | undefined; diff: SlackMappingDiff },
  evidence: EvidenceRecorder,
): Promise<void> {
  const { before, after, diff } = change;
  const uid = after?.metadata?.uid ?? before?.metadata?.uid ?? "";
  const previousResourceVersion = before?.metadata?.resourceVersion ?? null;
  const mappingHash = after ? slackMappingHash(after.data ?? {}) : null;
  await evidence.record({
    // One record per admitted change: a retried review of the same change is not recorded twice.
    id: `slack-users:${uid}:admitted:${previousResourceVersion ?? "none"}:${mappingHash ?? "deleted"}`,
    type: "policy.change",
    subject: `ConfigMap/${admission.namespace}/${admission.name}`,
    actor: admission.userInfo.username || "system:unknown",
    data: {
      operation: admission.operation,
      uid,
      previousResourceVersion,
      previousMappingHash: before ? slackMappingHash(before.data ?? {}) : null,
      mappingHash,
      ...diff,
    },
  });
}

function sliceOf(object: Record<string, unknown> | null | undefined): ConfigMapSlice | undefined {
  if (object === null || object === undefined) return undefined;
  const parsed = configMapSchema.safeParse(object);
  return parsed.success ? parsed.data : {};
}
