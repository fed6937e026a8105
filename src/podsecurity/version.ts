/** Pod Security Standards versions: `latest` or `v1.N`, the Kubernetes minor the policy is pinned to. */

export interface PodSecurityVersion {
  readonly major: 1;
  readonly minor: number;
}

/** The newest Kubernetes minor whose Pod Security Standards this evaluator knows. */
export const LATEST_KNOWN_MINOR = 37;
export const LATEST_POD_SECURITY_VERSION = `v1.${LATEST_KNOWN_MINOR}`;

const VERSION_PATTERN = /^v1\.(\d{1,9})$/;

export function parsePodSecurityVersion(version: string): PodSecurityVersion | "latest" {
  if (version === "latest") return "latest";
  const minor = VERSION_PATTERN.exec(version)?.[1];
  if (minor === undefined) {
    throw new Error(`invalid Pod Security version ${JSON.stringify(version)}: expected "latest" or "v1.N"`);
  }
  return { major: 1, minor: Number(minor) };
}

/** The minor to evaluate at: `latest` and versions newer than the evaluator knows mean the newest known. */
export function effectiveMinor(version: string): number {
  const parsed = parsePodSecurityVersion(version);
  if (parsed === "latest") return LATEST_KNOWN_MINOR;
  return Math.min(parsed.minor, LATEST_KNOWN_MINOR);
}
