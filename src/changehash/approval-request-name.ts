import { shortChangeHash } from "./change-hash.js";

/** Kubernetes' limit for a DNS-1123 subdomain, which object names must be. */
export const MAX_OBJECT_NAME_LENGTH = 253;

/** Kinds are short CamelCase words; the cap only keeps odd input from eating the name. */
const MAX_KIND_LENGTH = 63;

const DNS1123_SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export function isDns1123Subdomain(name: string): boolean {
  return name.length <= MAX_OBJECT_NAME_LENGTH && DNS1123_SUBDOMAIN_RE.test(name);
}

/**
 * Lower-cases `text` and turns it into dot-separated labels that each start and end with a
 * letter or digit; other characters become '-'. Object names are already valid subdomains, so
 * this only matters for odd input, but the result must always be a valid name.
 */
function toSubdomainFragment(text: string): string {
  return text
    .toLowerCase()
    .split(".")
    .map((label) => label.replace(/[^a-z0-9-]/g, "-").replace(/^-+|-+$/g, ""))
    .filter((label) => label.length > 0)
    .join(".");
}

function trimTrailingSeparators(text: string): string {
  return text.replace(/[-.]+$/, "");
}

/**
 * DESIGN §2 ApprovalRequest name: `<kind>-<name>-<first 10 hex of changeHash>` in lower case.
 * When that exceeds 253 characters the name part is cut, never the hash suffix, so the same
 * change always maps to the same request; a cut never leaves '-' or '.' before the suffix.
 */
export function approvalRequestName(kind: string, name: string, changeHash: string): string {
  const suffix = toSubdomainFragment(shortChangeHash(changeHash));
  const kindPart = trimTrailingSeparators(toSubdomainFragment(kind).slice(0, MAX_KIND_LENGTH)) || "object";
  const budget = MAX_OBJECT_NAME_LENGTH - kindPart.length - suffix.length - 2;
  const namePart = trimTrailingSeparators(toSubdomainFragment(name).slice(0, Math.max(0, budget)));
  return [kindPart, namePart, suffix].filter((part) => part.length > 0).join("-");
}
