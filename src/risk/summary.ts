import { gatedSpecOf, sameJson } from "../changehash/index.js";
import { asRecord } from "../json/read-json.js";
import type { ContainerRef } from "../policy/index.js";
import { containerKey, workloadView } from "./workload.js";

const MAX_FIELDS = 5;
const MAX_DIFF_DEPTH = 10;

function imagesByContainer(containers: readonly ContainerRef[]): Map<string, ContainerRef> {
  return new Map(containers.map((container) => [containerKey(container), container]));
}

/**
 * Per-container image changes between two versions: `image A -> B`, `container "x" added
 * (image Y)`, `container "x" removed`. Containers are matched by list and name.
 */
export function imageChanges(kind: string, oldObject: unknown, object: unknown): string[] {
  const before = imagesByContainer(workloadView(kind, oldObject).containers);
  const after = imagesByContainer(workloadView(kind, object).containers);
  const changes: string[] = [];
  for (const [key, container] of after) {
    const old = before.get(key);
    if (old === undefined) changes.push(`container ${JSON.stringify(container.name)} added (image ${container.image})`);
    else if (old.image !== container.image) changes.push(`image ${old.image} -> ${container.image}`);
  }
  for (const [key, container] of before) {
    if (!after.has(key)) changes.push(`container ${JSON.stringify(container.name)} removed`);
  }
  return changes;
}

/** Names the elements of a list of named objects (containers, volumes, env) for readable paths. */
function namedItems(list: unknown): Map<string, unknown> | undefined {
  if (!Array.isArray(list)) return undefined;
  const names = list.map((item) => asRecord(item)?.["name"]);
  if (!names.every((name): name is string => typeof name === "string") || new Set(names).size !== names.length)
    return undefined;
  return new Map(names.map((name, index) => [name, list[index] as unknown]));
}

function childEntries(value: unknown): Map<string, unknown> | undefined {
  const named = namedItems(value);
  if (named !== undefined) return new Map([...named].map(([name, item]) => [`[${name}]`, item]));
  const record = asRecord(value);
  return record === undefined ? undefined : new Map(Object.entries(record).map(([key, item]) => [`.${key}`, item]));
}

/** Paths (below spec) whose values differ, descending into maps and named lists. */
export function changedPaths(before: unknown, after: unknown, path = "", depth = 0): string[] {
  if (sameJson(before, after)) return [];
  const beforeEntries = childEntries(before);
  const afterEntries = childEntries(after);
  if (depth >= MAX_DIFF_DEPTH || beforeEntries === undefined || afterEntries === undefined)
    return [path || "(whole spec)"];
  const keys = [...new Set([...beforeEntries.keys(), ...afterEntries.keys()])];
  return keys.flatMap((key) => changedPaths(beforeEntries.get(key), afterEntries.get(key), `${path}${key}`, depth + 1));
}

function fieldList(paths: readonly string[]): string {
  const shown = paths.slice(0, MAX_FIELDS).map((path) => path.replace(/^\./, ""));
  return paths.length > MAX_FIELDS ? `${shown.join(", ")}, +${paths.length - MAX_FIELDS} more` : shown.join(", ");
}

function describeNew(kind: string, object: unknown): string {
  const images = [
    ...new Set(
      workloadView(kind, object)
        .containers.map((c) => c.image)
        .filter((image) => image !== ""),
    ),
  ];
  if (images.length === 0) return `new ${kind}`;
  return `new ${kind} with image${images.length > 1 ? "s" : ""} ${images.join(", ")}`;
}

/**
 * One line for an ApprovalRequest's `summary`: the image changes if any, else the spec fields
 * that changed (as the change hash sees the spec: replicas and restartedAt left out), or what a
 * new workload runs.
 */
export function summarizeChange(kind: string, oldObject: unknown, object: unknown): string {
  if (oldObject === null || oldObject === undefined) return describeNew(kind, object);
  const images = imageChanges(kind, oldObject, object);
  if (images.length > 0) return images.join("; ");
  const paths = changedPaths(gatedSpecOf(oldObject), gatedSpecOf(object));
  return paths.length === 0 ? "no spec change" : `spec change (fields: ${fieldList(paths)})`;
}
