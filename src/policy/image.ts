/** The registry Docker assumes for an image reference that names none. */
export const DEFAULT_REGISTRY = "docker.io";
const LEGACY_DEFAULT_REGISTRIES = new Set(["index.docker.io", "registry-1.docker.io"]);

const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

export interface ImageReference {
  /** As written in the pod spec. */
  readonly raw: string;
  /** Registry host (with port), `docker.io` when the reference names none. */
  readonly registry: string;
  /** Path below the registry, with Docker's `library/` for official images. */
  readonly repository: string;
  readonly tag: string | undefined;
  readonly digest: string | undefined;
  /** `registry/repository[:tag][@digest]`, the fully qualified form Docker resolves to. */
  readonly normalized: string;
  /** True when the registry or the `library/` namespace was filled in by normalisation. */
  readonly expanded: boolean;
}

function splitDigest(reference: string): [string, string | undefined] {
  const at = reference.indexOf("@");
  return at < 0 ? [reference, undefined] : [reference.slice(0, at), reference.slice(at + 1)];
}

function splitTag(name: string): [string, string | undefined] {
  const colon = name.lastIndexOf(":");
  return colon > name.lastIndexOf("/") ? [name.slice(0, colon), name.slice(colon + 1)] : [name, undefined];
}

/** Docker's rule: the first component is a host if it has a '.' or a ':' or is `localhost`. */
function looksLikeHost(component: string): boolean {
  return component.includes(".") || component.includes(":") || component === "localhost";
}

function splitRegistry(name: string): [string, string, boolean] {
  const slash = name.indexOf("/");
  const first = slash < 0 ? "" : name.slice(0, slash);
  const hasHost = slash >= 0 && looksLikeHost(first);
  const registry = hasHost ? (LEGACY_DEFAULT_REGISTRIES.has(first) ? DEFAULT_REGISTRY : first) : DEFAULT_REGISTRY;
  const path = hasHost ? name.slice(slash + 1) : name;
  const official = registry === DEFAULT_REGISTRY && !path.includes("/");
  return [registry, official ? `library/${path}` : path, !hasHost || official];
}

/**
 * Parses an image reference the way Docker normalises it: `nginx` and `library/nginx` are
 * `docker.io/library/nginx`. Never throws; a malformed reference just parses oddly.
 */
export function parseImageReference(raw: string): ImageReference {
  const [nameAndTag, digest] = splitDigest(raw.trim());
  const [name, tag] = splitTag(nameAndTag);
  const [registry, repository, expanded] = splitRegistry(name);
  const normalized = `${registry}/${repository}${tag === undefined ? "" : `:${tag}`}${digest === undefined ? "" : `@${digest}`}`;
  return { raw, registry, repository, tag, digest, normalized, expanded };
}

export function hasPinnedDigest(image: ImageReference): boolean {
  return image.digest !== undefined && DIGEST_RE.test(image.digest);
}

/** `latest`, or no tag and no digest (which pulls `latest`). */
export function usesLatestTag(image: ImageReference): boolean {
  return image.tag === "latest" || (image.tag === undefined && image.digest === undefined);
}

/**
 * Where an image comes from, for "is this a new source?" questions: the registry host plus the
 * first path segment (the organisation or project) when the path has more than one, e.g.
 * `ghcr.io/acme`, `docker.io/library`, `registry.k8s.io`. On shared registries such as ghcr.io
 * or docker.io the organisation, not the host, is what says who published the image.
 */
export function imageSourceOf(image: ImageReference): string {
  const segments = image.repository.split("/");
  return segments.length > 1 ? `${image.registry}/${segments[0] ?? ""}` : image.registry;
}
