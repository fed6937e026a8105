import type { PolicyCheck } from "../../api/v1alpha1/index.js";
import { describeContainer, type ContainerRef } from "../pod-template.js";
import { recordAt } from "../../json/read-json.js";
import type { CheckFinding } from "../types.js";
import type { CheckRunner } from "./context.js";

type ResourceSettings = NonNullable<PolicyCheck["requireResources"]>;

function isSet(quantity: unknown): boolean {
  return (typeof quantity === "string" && quantity.trim() !== "") || typeof quantity === "number";
}

function missingResources(container: ContainerRef, settings: ResourceSettings): string[] {
  const requests = recordAt(container.spec, "resources", "requests") ?? {};
  const limits = recordAt(container.spec, "resources", "limits") ?? {};
  return [
    ...(settings.requests ?? []).filter((name) => !isSet(requests[name])).map((name) => `requests.${name}`),
    ...(settings.limits ?? []).filter((name) => !isSet(limits[name])).map((name) => `limits.${name}`),
  ];
}

/**
 * Each container and init container must set the listed requests and limits. Init containers are
 * included because they run on the node too and their requests count for scheduling; ephemeral
 * containers are not, since Kubernetes forbids resources on them.
 */
export function requireResourcesCheck(settings: ResourceSettings): CheckRunner {
  return ({ containers }) =>
    containers
      .filter((container) => container.type !== "ephemeralContainer")
      .flatMap((container): CheckFinding[] => {
        const missing = missingResources(container, settings);
        if (missing.length === 0) return [];
        return [
          {
            rule: "requireResources",
            message: `${describeContainer(container)} does not set resources ${missing.join(", ")}`,
          },
        ];
      });
}
