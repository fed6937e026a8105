// JSON patches for the healing actions. Each starts with a `test` of metadata.resourceVersion:
// leader election gives no fencing, so a deposed leader (or a replay) acting on what it saw is
// refused by the API server instead of acting twice. The history annotation travels in the same
// patch, so an action and its record are one atomic write.
import type { JsonPatchOp } from "../api/json-patch.js";
import { RESTARTED_AT_ANNOTATION } from "../changehash/index.js";
import { recordAt, stringMapOf, type JsonRecord } from "../json/read-json.js";
import { HISTORY_ANNOTATION, serializeHistory, type HistoryEntry } from "./history.js";
import { templateWithoutHashLabel } from "./revisions.js";
import type { DeploymentView } from "./views.js";

/** RFC 6901: `~` → `~0`, `/` → `~1`. */
export function pointerToken(key: string): string {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

function guard(deployment: DeploymentView): JsonPatchOp {
  return { op: "test", path: "/metadata/resourceVersion", value: deployment.resourceVersion };
}

/** Sets one annotation, creating the annotations map when the object has none. */
function setAnnotation(basePath: string, existing: JsonRecord | undefined, key: string, value: string): JsonPatchOp {
  const annotations = existing === undefined ? undefined : stringMapOf(existing["annotations"]);
  if (existing?.["annotations"] === undefined || annotations === undefined) {
    return { op: "add", path: `${basePath}/annotations`, value: { [key]: value } };
  }
  return { op: "add", path: `${basePath}/annotations/${pointerToken(key)}`, value };
}

function historyOp(deployment: DeploymentView, history: readonly HistoryEntry[]): JsonPatchOp {
  return setAnnotation(
    "/metadata",
    recordAt(deployment.raw, "metadata"),
    HISTORY_ANNOTATION,
    serializeHistory(history),
  );
}

/** Only the history (escalation, recovery, before deleting pods). */
export function historyPatch(deployment: DeploymentView, history: readonly HistoryEntry[]): JsonPatchOp[] {
  return [guard(deployment), historyOp(deployment, history)];
}

/** `kubectl rollout restart`: a new restartedAt stamp on the pod template. */
export function restartPatch(deployment: DeploymentView, history: readonly HistoryEntry[], at: string): JsonPatchOp[] {
  const templateMetadata = recordAt(deployment.raw, "spec", "template", "metadata");
  const stamp =
    templateMetadata === undefined
      ? {
          op: "add" as const,
          path: "/spec/template/metadata",
          value: { annotations: { [RESTARTED_AT_ANNOTATION]: at } },
        }
      : setAnnotation("/spec/template/metadata", templateMetadata, RESTARTED_AT_ANNOTATION, at);
  return [guard(deployment), stamp, historyOp(deployment, history)];
}

/** `kubectl rollout undo --to-revision`: the old ReplicaSet's template, without its hash label. */
export function rollbackPatch(
  deployment: DeploymentView,
  template: JsonRecord,
  history: readonly HistoryEntry[],
): JsonPatchOp[] {
  return [
    guard(deployment),
    { op: "replace", path: "/spec/template", value: templateWithoutHashLabel(template) },
    historyOp(deployment, history),
  ];
}
