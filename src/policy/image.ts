// Image references, parsed with the grammar of github.com/distribution/reference (regexp.go,
// reference.go) and normalised as normalize.go does (ParseNormalizedNamed), which is what the
// container runtime does before it pulls. Checks compare the parsed host and path components,
// never raw strings, so `registry.k8s.io.evil.example/x` is not "under" `registry.k8s.io`.
//
// Where this is stricter than upstream (a reference the runtime would accept is refused), it is
// on purpose and noted below; an admission check should not guess what an odd spelling means.

/** The registry Docker assumes for an image reference that names none. */
export const DEFAULT_REGISTRY = "docker.io";
/** Docker Hub's old name; normalize.go rewrites it to docker.io. */
const LEGACY_DEFAULT_REGISTRY = "index.docker.io";
const OFFICIAL_REPOSITORY_PREFIX = "library/";
/** The tag the runtime pulls when a reference has neither tag nor digest. */
const DEFAULT_TAG = "latest";
/** Longest fully qualified name (`host/path`, without tag or digest). */
const MAX_NAME_LENGTH = 255;

// The grammar, piece by piece as in distribution/reference regexp.go. JavaScript's `\w` (without
// the `u` flag) is ASCII [A-Za-z0-9_], like Go's.
const ALPHANUMERIC = "[a-z0-9]+";
const SEPARATOR = "(?:[._]|__|[-]+)";
const PATH_COMPONENT = `${ALPHANUMERIC}(?:${SEPARATOR}${ALPHANUMERIC})*`;
const DOMAIN_NAME_COMPONENT = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const DOMAIN_NAME = `${DOMAIN_NAME_COMPONENT}(?:\\.${DOMAIN_NAME_COMPONENT})*`;
const IPV6_ADDRESS = "\\[(?:[a-fA-F0-9:]+)\\]";
const DOMAIN_AND_PORT = `(?:${DOMAIN_NAME}|${IPV6_ADDRESS})(?::[0-9]+)?`;
const TAG = "[\\w][\\w.-]{0,127}";
const DIGEST = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}";

const anchored = (pattern: string): RegExp => new RegExp(`^(?:${pattern})$`);
const PATH_COMPONENT_RE = anchored(PATH_COMPONENT);
const DOMAIN_AND_PORT_RE = anchored(DOMAIN_AND_PORT);
const TAG_RE = anchored(TAG);
const DIGEST_RE = anchored(DIGEST);
/** A bare image ID, which ParseNormalizedNamed refuses as a name. */
const IDENTIFIER_RE = /^[a-f0-9]{64}$/;

/**
 * Digest algorithms go-digest knows (and the runtime links), with the length of their lower-case
 * hex encoding. Any other algorithm is "unsupported" upstream, so the reference is refused.
 */
const DIGEST_HEX_LENGTHS: ReadonlyMap<string, number> = new Map([
  ["sha256", 64],
  ["sha384", 96],
  ["sha512", 128],
]);

export interface ImageReference {
  /** As written in the pod spec. */
  readonly raw: string;
  /**
   * Why `raw` is not a valid image reference, or undefined when it is. For an invalid reference
   * the fields below are a best-effort split for messages and risk heuristics only: checks treat
   * an invalid reference as a violation and never match it against a registry.
   */
  readonly invalid: string | undefined;
  /** Registry host (with port), `docker.io` when the reference names none. */
  readonly registry: string;
  /** Path below the registry, with Docker's `library/` for official images. */
  readonly repository: string;
  /** The tag as written; undefined when there is none (see `normalized` for the implied one). */
  readonly tag: string | undefined;
  readonly digest: string | undefined;
  /**
   * `registry/repository[:tag][@digest]`, the fully qualified form the runtime resolves, with
   * `:latest` when neither tag nor digest is given. `raw` when the reference is invalid.
   */
  readonly normalized: string;
  /** True when normalisation changed the reference (`normalized` differs from `raw`). */
  readonly expanded: boolean;
}

interface ReferenceParts {
  readonly registry: string;
  readonly repository: string;
  readonly tag: string | undefined;
  readonly digest: string | undefined;
}

/**
 * normalize.go's splitDockerDomain: the first component is the registry when it is `localhost`,
 * contains a '.' or a ':', or has upper-case letters (a Docker Hub namespace cannot); otherwise
 * the name is on docker.io, where a single component is an official image under `library/`.
 */
function splitDomain(name: string): [string, string] {
  const slash = name.indexOf("/");
  if (slash < 0) return [DEFAULT_REGISTRY, `${OFFICIAL_REPOSITORY_PREFIX}${name}`];
  const first = name.slice(0, slash);
  const isDomain = first === "localhost" || /[.:]/.test(first) || first.toLowerCase() !== first;
  const registry = !isDomain || first === LEGACY_DEFAULT_REGISTRY ? DEFAULT_REGISTRY : first;
  const repository = isDomain ? name.slice(slash + 1) : name;
  const official = registry === DEFAULT_REGISTRY && !repository.includes("/");
  return [registry, official ? `${OFFICIAL_REPOSITORY_PREFIX}${repository}` : repository];
}

/**
 * Splits without validating. In the grammar a name never contains '@', a tag or digest never
 * contains '/', and a name's only ':' is a port before its first '/', so for a valid reference
 * these cuts are the only ones the grammar allows.
 */
function splitReference(raw: string): ReferenceParts {
  const at = raw.indexOf("@");
  const nameAndTag = at < 0 ? raw : raw.slice(0, at);
  const digest = at < 0 ? undefined : raw.slice(at + 1);
  const colon = nameAndTag.lastIndexOf(":");
  const hasTag = colon > nameAndTag.lastIndexOf("/");
  const name = hasTag ? nameAndTag.slice(0, colon) : nameAndTag;
  const tag = hasTag ? nameAndTag.slice(colon + 1) : undefined;
  const [registry, repository] = splitDomain(name);
  return { registry, repository, tag, digest };
}

/** Quoted for a message, cut short so a huge value cannot make a huge message. */
const quote = (text: string): string => JSON.stringify(text.length > 160 ? `${text.slice(0, 160)}…` : text);

/**
 * Why `host` is not a registry host: a DNS-like name, an IPv4 address or a bracketed IPv6
 * address, with an optional `:port`. Upper case is refused although upstream's grammar allows it
 * in the host: DNS would resolve it to the same host, but policies compare hosts exactly, so a
 * host has one spelling here (stricter than the runtime on purpose).
 */
function registryHostProblem(host: string): string | undefined {
  if (host.toLowerCase() !== host) return `registry host ${quote(host)} has upper-case letters`;
  return DOMAIN_AND_PORT_RE.test(host)
    ? undefined
    : `registry host ${quote(host)} is not a host name, IPv4 or [IPv6] address with an optional :port`;
}

/** Why a `/`-separated repository path is not valid, naming the first bad component. */
function repositoryPathProblem(path: string): string | undefined {
  for (const component of path.split("/")) {
    if (component === "") return `repository path ${quote(path)} has an empty component`;
    if (PATH_COMPONENT_RE.test(component)) continue;
    if (PATH_COMPONENT_RE.test(component.toLowerCase())) {
      return `path component ${quote(component)} has upper-case letters (repository names are lower-case)`;
    }
    return `path component ${quote(component)} is not lower-case letters and digits joined by ".", "_", "__" or "-"`;
  }
  return undefined;
}

function nameLengthProblem(name: string): string | undefined {
  // Counted on the fully qualified name, as reference.go did before v0.6.0 (it now counts the path
  // only); the stricter of the two, since a name the runtime refuses must not pass a check.
  return name.length > MAX_NAME_LENGTH
    ? `the name ${JSON.stringify(`${name.slice(0, 40)}…`)} is ${name.length} characters long, more than ${MAX_NAME_LENGTH}`
    : undefined;
}

function tagProblem(tag: string): string | undefined {
  return TAG_RE.test(tag)
    ? undefined
    : `tag ${quote(tag)} is not 1 to 128 letters, digits, "_", "." or "-" (not starting with "." or "-")`;
}

function digestProblem(digest: string): string | undefined {
  if (!DIGEST_RE.test(digest)) return `digest ${quote(digest)} is not algorithm:hex (e.g. sha256:<64 hex digits>)`;
  const colon = digest.indexOf(":");
  const algorithm = digest.slice(0, colon);
  const length = DIGEST_HEX_LENGTHS.get(algorithm);
  if (length === undefined) {
    return `digest algorithm ${quote(algorithm)} is not supported (${[...DIGEST_HEX_LENGTHS.keys()].join(", ")})`;
  }
  return new RegExp(`^[a-f0-9]{${length}}$`).test(digest.slice(colon + 1))
    ? undefined
    : `a ${algorithm} digest has exactly ${length} lower-case hex digits`;
}

function referenceProblem(raw: string, parts: ReferenceParts): string | undefined {
  if (raw === "") return "it is empty";
  if (IDENTIFIER_RE.test(raw)) return "a bare 64-digit hex string is an image ID, not a reference";
  // Length first: it also bounds the input of the regular expressions below.
  return (
    nameLengthProblem(`${parts.registry}/${parts.repository}`) ??
    registryHostProblem(parts.registry) ??
    repositoryPathProblem(parts.repository) ??
    (parts.tag === undefined ? undefined : tagProblem(parts.tag)) ??
    (parts.digest === undefined ? undefined : digestProblem(parts.digest))
  );
}

/**
 * Parses an image reference the way the container runtime normalises it before pulling: `nginx`,
 * `library/nginx` and `index.docker.io/library/nginx` are `docker.io/library/nginx:latest`. Never
 * throws; a reference outside the grammar (including surrounding whitespace, which the API server
 * refuses anyway) comes back with `invalid` saying why.
 */
export function parseImageReference(raw: string): ImageReference {
  let parsed = parsedReferences.get(raw);
  if (parsed === undefined) {
    // Bounded: an attacker sending ever new image strings costs a cleared cache, not memory.
    if (parsedReferences.size >= MAX_CACHED_REFERENCES) parsedReferences.clear();
    parsed = Object.freeze(parseUncached(raw));
    parsedReferences.set(raw, parsed);
  }
  return parsed;
}

// Every check, the risk score and the threat model parse the same few images of each admission,
// and a cluster runs few distinct images: parsing each once is most of what image checks cost.
const MAX_CACHED_REFERENCES = 2048;
const parsedReferences = new Map<string, ImageReference>();

function parseUncached(raw: string): ImageReference {
  const parts = splitReference(raw);
  const invalid = referenceProblem(raw, parts);
  if (invalid !== undefined) return { raw, invalid, ...parts, normalized: raw, expanded: false };
  const { registry, repository, tag, digest } = parts;
  const suffix =
    tag === undefined && digest === undefined
      ? `:${DEFAULT_TAG}`
      : `${tag === undefined ? "" : `:${tag}`}${digest === undefined ? "" : `@${digest}`}`;
  const normalized = `${registry}/${repository}${suffix}`;
  return { raw, invalid, registry, repository, tag, digest, normalized, expanded: normalized !== raw };
}

/** A valid reference with a digest (sha256, sha384 or sha512), so the content it names is fixed. */
export function hasPinnedDigest(image: ImageReference): boolean {
  return image.invalid === undefined && image.digest !== undefined;
}

/**
 * The tag `latest` decides what runs: an explicit `:latest`, or neither tag nor digest (which pulls
 * `latest`). True for an invalid reference, which cannot be shown not to.
 *
 * `name:latest@sha256:…` is false: the runtime pulls by the digest and ignores the tag
 * (ParseDockerRef drops it), so the content is fixed and the reason to refuse `latest` (what runs
 * changes without the spec changing) does not apply; the tag is only a label there.
 */
export function usesLatestTag(image: ImageReference): boolean {
  if (image.invalid !== undefined) return true;
  return image.digest === undefined && (image.tag === undefined || image.tag === DEFAULT_TAG);
}

/**
 * Where an image comes from, for "is this a new source?" questions: the registry host plus the
 * first path segment (the organisation or project) when the path has more than one, e.g.
 * `ghcr.io/acme`, `docker.io/library`, `registry.k8s.io`. On shared registries such as ghcr.io
 * or docker.io the organisation, not the host, is what says who published the image. For an
 * invalid reference this uses the best-effort split (such an image cannot be pulled).
 */
export function imageSourceOf(image: ImageReference): string {
  const segments = image.repository.split("/");
  return segments.length > 1 ? `${image.registry}/${segments[0] ?? ""}` : image.registry;
}

/** An `allowedRegistries` entry: a registry host and the leading path components it allows. */
export interface RegistryEntry {
  /** As written in the policy. */
  readonly raw: string;
  /** Host with optional port, `index.docker.io` normalised to `docker.io`. */
  readonly registry: string;
  /** Leading repository path components an image must have; empty allows the whole registry. */
  readonly path: readonly string[];
}

/** A malformed `allowedRegistries` entry; policy compilation reports it as a problem. */
export class RegistryEntryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RegistryEntryError";
  }
}

function registryEntryProblem(raw: string, host: string, path: string): string | undefined {
  if (raw === "") return "it is empty";
  if (raw.includes("@")) return "it has a digest; an entry is host[:port][/path], without tag or digest";
  const hostProblem = registryHostProblem(host);
  if (hostProblem !== undefined) return hostProblem;
  // Without this, `acme/` would be a host that no image reference can have (`acme/web` is on docker.io).
  if (host !== "localhost" && !/[.:]/.test(host)) {
    return `${quote(host)} is not a registry host (it needs a "." or a ":port", or is localhost); for Docker Hub write docker.io/${host}`;
  }
  if (path === "") return undefined;
  if (path.includes(":")) return "it has a tag; an entry is host[:port][/path], without tag or digest";
  return nameLengthProblem(`${host}/${path}`) ?? repositoryPathProblem(path);
}

/**
 * Parses an `allowedRegistries` entry: `host[:port]` optionally followed by `/path/components`,
 * with one trailing `/` optional (`ghcr.io/acme/` and `ghcr.io/acme` are the same entry).
 * `index.docker.io` is read as `docker.io`. The path is not given Docker's `library/`: an entry is
 * a prefix, and `docker.io/bitnami` means the bitnami namespace. Throws {@link RegistryEntryError}.
 */
export function parseRegistryEntry(raw: string): RegistryEntry {
  const trimmed = raw.endsWith("/") ? raw.slice(0, -1) : raw;
  const slash = trimmed.indexOf("/");
  const host = slash < 0 ? trimmed : trimmed.slice(0, slash);
  const path = slash < 0 ? "" : trimmed.slice(slash + 1);
  const problem = registryEntryProblem(raw, host, path);
  if (problem !== undefined) throw new RegistryEntryError(`allowed registry ${quote(raw)} is malformed: ${problem}`);
  return {
    raw,
    registry: host === LEGACY_DEFAULT_REGISTRY ? DEFAULT_REGISTRY : host,
    path: path === "" ? [] : path.split("/"),
  };
}

/**
 * The image is on the entry's registry (host and port equal) and its repository starts with the
 * entry's path components, each equal: `ghcr.io/acme` allows `ghcr.io/acme/web` and
 * `ghcr.io/acme` itself, not `ghcr.io/acme-evil/web` or `ghcr.io/acmeweb`. Never an invalid image.
 */
export function isFromRegistry(image: ImageReference, entry: RegistryEntry): boolean {
  if (image.invalid !== undefined || image.registry !== entry.registry) return false;
  const segments = image.repository.split("/");
  return entry.path.every((component, index) => segments[index] === component);
}
