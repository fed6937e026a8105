import { hasPinnedDigest, parseImageReference, usesLatestTag, type ImageReference } from "../image.js";
import { describeContainer, type ContainerRef } from "../pod-template.js";
import type { CheckFinding } from "../types.js";
import type { CheckRunner } from "./context.js";

function imageFindings(
  rule: string,
  containers: readonly ContainerRef[],
  describe: (container: ContainerRef, image: ImageReference) => string | undefined,
): CheckFinding[] {
  return containers.flatMap((container) => {
    const message = describe(container, parseImageReference(container.image));
    return message === undefined ? [] : [{ rule, message }];
  });
}

function imageLabel(image: ImageReference): string {
  const expansion = image.expanded && image.raw !== "" ? ` (normalised to ${image.normalized})` : "";
  return `image ${JSON.stringify(image.raw)}${expansion}`;
}

/** Every image must start with one of the prefixes, compared in Docker's fully qualified form. */
export function allowedRegistriesCheck(prefixes: readonly string[]): CheckRunner {
  const allowed = prefixes.join(", ");
  return ({ containers }) =>
    imageFindings("allowedRegistries", containers, (container, image) => {
      if (image.raw.trim() === "") return `${describeContainer(container)} has no image`;
      if (prefixes.some((prefix) => image.normalized.startsWith(prefix))) return undefined;
      return `${describeContainer(container)} uses ${imageLabel(image)}, not from an allowed registry (${allowed})`;
    });
}

export function requireImageDigestCheck(): CheckRunner {
  return ({ containers }) =>
    imageFindings("requireImageDigest", containers, (container, image) =>
      hasPinnedDigest(image)
        ? undefined
        : `${describeContainer(container)} uses image ${JSON.stringify(image.raw)} without a digest (@sha256:<64 hex>)`,
    );
}

export function disallowLatestTagCheck(): CheckRunner {
  return ({ containers }) =>
    imageFindings("disallowLatestTag", containers, (container, image) => {
      if (!usesLatestTag(image)) return undefined;
      const why = image.tag === "latest" ? "the tag latest" : "no tag and no digest, which means latest";
      return `${describeContainer(container)} uses image ${JSON.stringify(image.raw)} with ${why}`;
    });
}
