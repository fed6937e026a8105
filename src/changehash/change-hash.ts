import type { JsonValue } from "../json/canonical-json.js";
import { canonicalSha256, toJsonValue } from "./canonical-hash.js";

/** Annotation `kubectl rollout restart` sets on the pod template; a restart is not a change. */
export const RESTARTED_AT_ANNOTATION = "kubectl.kubernetes.io/restartedAt";

export const CHANGE_HASH_PREFIX = "sha256:";
const CHANGE_HASH_RE = /^sha256:([0-9a-f]{64})$/;
export const SHORT_HASH_LENGTH = 10;

type JsonObject = { [key: string]: JsonValue };

function isJsonObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Removes the restartedAt annotation from a pod template (mutating the copy it is given).
 * An annotations map, and then a metadata map, that this leaves empty is removed too: the API
 * server omits empty maps, so `annotations: {}` and no annotations are the same object, and a
 * restart followed by removing the annotation must give the hash the workload had before.
 * For the same reason an empty annotations or metadata map that was already there is dropped.
 */
function stripRestartedAt(template: JsonValue | undefined): void {
  if (!isJsonObject(template)) return;
  const metadata = template["metadata"];
  if (!isJsonObject(metadata)) return;
  const annotations = metadata["annotations"];
  if (isJsonObject(annotations)) {
    delete annotations[RESTARTED_AT_ANNOTATION];
    if (Object.keys(annotations).length === 0) delete metadata["annotations"];
  }
  if (Object.keys(metadata).length === 0) delete template["metadata"];
}

function jobTemplateOf(spec: JsonObject): JsonValue | undefined {
  const jobTemplate = spec["jobTemplate"];
  return isJsonObject(jobTemplate) && isJsonObject(jobTemplate["spec"]) ? jobTemplate["spec"]["template"] : undefined;
}

/**
 * The part of an object's spec that the change hash covers: the spec without `replicas` and
 * without the pod template's restartedAt annotation. The template is looked for by shape
 * (`spec.template` for Deployment, StatefulSet, DaemonSet, ReplicaSet and Job;
 * `spec.jobTemplate.spec.template` for CronJob), so the object's kind is not needed; a bare
 * Pod's spec has neither and is hashed as it is. A missing spec counts as `{}`.
 */
export function gatedSpecOf(object: unknown): JsonValue {
  const source =
    typeof object === "object" && object !== null ? (object as Record<string, unknown>)["spec"] : undefined;
  const spec = toJsonValue(source) ?? {};
  if (!isJsonObject(spec)) return spec;
  delete spec["replicas"];
  stripRestartedAt(spec["template"]);
  stripRestartedAt(jobTemplateOf(spec));
  return spec;
}

/** DESIGN §3 changeHash: `sha256:` + hex SHA-256 of the JCS of {@link gatedSpecOf}. */
export function computeChangeHash(object: unknown): string {
  return canonicalSha256(gatedSpecOf(object));
}

export function isChangeHash(value: string): boolean {
  return CHANGE_HASH_RE.test(value);
}

/** The first 10 hex digits of a change hash, as names and messages show it. */
export function shortChangeHash(changeHash: string): string {
  const hex = changeHash.startsWith(CHANGE_HASH_PREFIX) ? changeHash.slice(CHANGE_HASH_PREFIX.length) : changeHash;
  return hex.slice(0, SHORT_HASH_LENGTH).toLowerCase();
}
