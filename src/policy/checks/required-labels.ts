import { labelsOf } from "../../json/read-json.js";
import type { CheckRunner } from "./context.js";

/**
 * The object's own metadata.labels must carry every listed key. Labels on a workload's pod
 * template do not count (they label the pods, not the workload), but the message points them out.
 */
export function requiredLabelsCheck(keys: readonly string[]): CheckRunner {
  return ({ request, template }) => {
    const labels = labelsOf(request.object);
    const templateLabels = template === undefined || request.kind === "Pod" ? {} : labelsOf(template);
    return keys
      .filter((key) => !Object.hasOwn(labels, key))
      .map((key) => ({
        rule: "requiredLabels",
        message: `${request.kind} has no label ${JSON.stringify(key)} in metadata.labels${
          Object.hasOwn(templateLabels, key) ? " (it is set on the pod template only)" : ""
        }`,
      }));
  };
}
