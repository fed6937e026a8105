import {
  RegistryEntryError,
  hasPinnedDigest,
  isFromRegistry,
  parseImageReference,
  parseRegistryEntry,
  usesLatestTag,
  type ImageReference,
  type RegistryEntry,
} from "../image.js";
import { describeContainer, type ContainerRef } from "../pod-template.js";
import type { CheckFinding } from "../types.js";
import type { CheckRunner } from "./context.js";

/**
 * One finding per container whose image `describe` objects to. A missing image and an invalid
 * reference are violations of every image check (an unparseable reference cannot be shown to be
 * trusted, pinned or not latest), with the same message whichever check reports them.
 */
function imageFindings(
  rule: string,
  containers: readonly ContainerRef[],
  describe: (container: ContainerRef, image: ImageReference) => string | undefined,
): CheckFinding[] {
  return containers.flatMap((container) => {
    const image = parseImageReference(container.image);
    const message =
      image.raw.trim() === ""
        ? `${describeContainer(container)} has no image`
        : image.invalid !== undefined
          ? `${describeContainer(container)} uses image ${JSON.stringify(image.raw)}, which is not a valid image reference: ${image.invalid}`
          : describe(container, image);
    return message === undefined ? [] : [{ rule, message }];
  });
}

function imageLabel(image: ImageReference): string {
  const expansion = image.expanded ? ` (normalised to ${image.normalized})` : "";
  return `image ${JSON.stringify(image.raw)}${expansion}`;
}

function parseRegistryEntries(entries: readonly string[]): RegistryEntry[] {
  const parsed: RegistryEntry[] = [];
  const problems: string[] = [];
  for (const entry of entries) {
    try {
      parsed.push(parseRegistryEntry(entry));
    } catch (error) {
      if (!(error instanceof RegistryEntryError)) throw error;
      problems.push(error.message);
    }
  }
  if (problems.length > 0) throw new RegistryEntryError(problems.join("; "));
  return parsed;
}

/**
 * Every image must come from one of the entries: the same registry host (and port) and, when the
 * entry has a path, the same leading path components, compared on the normalised reference
 * (see {@link isFromRegistry}). Throws {@link RegistryEntryError} for a malformed entry.
 */
export function allowedRegistriesCheck(entries: readonly string[]): CheckRunner {
  const parsed = parseRegistryEntries(entries);
  const allowed = entries.join(", ");
  return ({ containers }) =>
    imageFindings("allowedRegistries", containers, (container, image) => {
      if (parsed.some((entry) => isFromRegistry(image, entry))) return undefined;
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

/** See {@link usesLatestTag}: `name:latest@sha256:…` passes, since the digest decides what runs. */
export function disallowLatestTagCheck(): CheckRunner {
  return ({ containers }) =>
    imageFindings("disallowLatestTag", containers, (container, image) => {
      if (!usesLatestTag(image)) return undefined;
      const why = image.tag === "latest" ? "the tag latest" : "no tag and no digest, which means latest";
      return `${describeContainer(container)} uses image ${JSON.stringify(image.raw)} with ${why}`;
    });
}
