import { canonicalCopy, canonicalJson, type JsonValue } from "../json/canonical-json.js";
import { sha256Hex, toJsonValue } from "./canonical-hash.js";

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

/** Labels the API server writes into a Job's template (with its selector) from the Job's uid and name. */
const JOB_SERVER_LABELS = [
  "controller-uid",
  "batch.kubernetes.io/controller-uid",
  "job-name",
  "batch.kubernetes.io/job-name",
];

/**
 * Drops what the API server fills in from a Job's uid before validating admission sees it: the
 * generated selector and the template labels that go with it. Each try of creating the same Job
 * gets a new uid, so without this no Job could ever match its approval.
 */
function stripJobServerFields(spec: JsonObject): void {
  const template = spec["template"];
  const metadata = isJsonObject(template) ? template["metadata"] : undefined;
  const labels = isJsonObject(metadata) ? metadata["labels"] : undefined;
  if (!isJsonObject(labels) || !isJsonObject(metadata)) return;
  const uidLabel = labels["batch.kubernetes.io/controller-uid"] ?? labels["controller-uid"];
  if (typeof uidLabel !== "string") return;
  for (const key of JOB_SERVER_LABELS) delete labels[key];
  if (Object.keys(labels).length === 0) delete metadata["labels"];
  if (spec["manualSelector"] !== true) delete spec["selector"];
}

/** The service-account token volume the API server adds to every Pod, under a random name. */
const TOKEN_VOLUME_RE = /^kube-api-access-[a-z0-9]{5}$/;

/**
 * Drops the projected token volume (and its mounts) that ServiceAccount admission adds to a Pod
 * under a fresh random name each time: it says nothing about what runs, and would otherwise make
 * every try of the same bare Pod a new change.
 */
function isGeneratedTokenVolume(volume: JsonValue): boolean {
  if (!isJsonObject(volume) || typeof volume["name"] !== "string" || !TOKEN_VOLUME_RE.test(volume["name"]))
    return false;
  const projected = volume["projected"];
  const sources = isJsonObject(projected) ? projected["sources"] : undefined;
  if (!Array.isArray(sources) || sources.length !== 3) return false;
  // Exactly what the API server writes; a look-alike carrying anything else stays in the hash.
  const [token, rootCa, namespace] = sources.map((source) => canonicalJson(source));
  return (
    /^\{"serviceAccountToken":\{"expirationSeconds":\d+,"path":"token"\}\}$/.test(token ?? "") &&
    rootCa === '{"configMap":{"items":[{"key":"ca.crt","path":"ca.crt"}],"name":"kube-root-ca.crt"}}' &&
    namespace ===
      '{"downwardAPI":{"items":[{"fieldRef":{"apiVersion":"v1","fieldPath":"metadata.namespace"},"path":"namespace"}]}}'
  );
}

function stripTokenVolume(spec: JsonObject): void {
  const volumes = spec["volumes"];
  if (!Array.isArray(volumes)) return;
  const generated = volumes.filter(isGeneratedTokenVolume);
  if (generated.length === 0) return;
  const names = new Set(generated.map((volume) => (volume as JsonObject)["name"]));
  spec["volumes"] = volumes.filter((volume) => !generated.includes(volume));
  if (spec["volumes"].length === 0) delete spec["volumes"];
  for (const field of ["containers", "initContainers", "ephemeralContainers"]) {
    const containers = spec[field];
    if (!Array.isArray(containers)) continue;
    for (const container of containers) {
      if (!isJsonObject(container) || !Array.isArray(container["volumeMounts"])) continue;
      container["volumeMounts"] = container["volumeMounts"].filter(
        (mount) => !(isJsonObject(mount) && names.has(mount["name"] ?? "")),
      );
      if (container["volumeMounts"].length === 0) delete container["volumeMounts"];
    }
  }
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
 * Pod's spec has neither and is hashed as it is. A missing spec counts as `{}`. What the API
 * server generates per try is left out too: a Job's uid-based selector and template labels, and
 * a Pod's randomly named service-account token volume.
 */
export function gatedSpecOf(object: unknown): JsonValue {
  return gatedSpec(object).spec;
}

/** The gated spec, and whether JSON.stringify already writes it canonically. */
function gatedSpec(object: unknown): { spec: JsonValue; canonical: boolean } {
  const source =
    typeof object === "object" && object !== null ? (object as Record<string, unknown>)["spec"] : undefined;
  // Plain JSON (what the API server sends) is copied in canonical key order, and deleting members
  // keeps that order, so the hash's serialisation is JSON.stringify's; anything else gets the API
  // server's conversions first and the full serialiser.
  const copy = canonicalCopy(source);
  const spec = copy ?? toJsonValue(source) ?? {};
  if (!isJsonObject(spec)) return { spec, canonical: copy !== undefined };
  delete spec["replicas"];
  stripJobServerFields(spec);
  stripTokenVolume(spec);
  stripRestartedAt(spec["template"]);
  stripRestartedAt(jobTemplateOf(spec));
  return { spec, canonical: copy !== undefined };
}

/** DESIGN §3 changeHash: `sha256:` + hex SHA-256 of the JCS of {@link gatedSpecOf}. */
export function computeChangeHash(object: unknown): string {
  const { spec, canonical } = gatedSpec(object);
  return `${CHANGE_HASH_PREFIX}${sha256Hex(canonical ? JSON.stringify(spec) : canonicalJson(spec))}`;
}

export function isChangeHash(value: string): boolean {
  return CHANGE_HASH_RE.test(value);
}

/** The first 10 hex digits of a change hash, as names and messages show it. */
export function shortChangeHash(changeHash: string): string {
  const hex = changeHash.startsWith(CHANGE_HASH_PREFIX) ? changeHash.slice(CHANGE_HASH_PREFIX.length) : changeHash;
  return hex.slice(0, SHORT_HASH_LENGTH).toLowerCase();
}
