import type { AegisPolicy } from "../api/v1alpha1/index.js";
import { canonicalSha256 } from "../changehash/index.js";

/** `sha256:` + hex SHA-256 of the JCS of the policy's spec: evidence names the deciding version. */
export function specHashOf(policy: Pick<AegisPolicy, "spec">): string {
  return canonicalSha256(policy.spec);
}
