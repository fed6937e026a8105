import type { Identity } from "../../api/identity.js";

/** How ID token claims become a Kubernetes identity: kube-apiserver's --oidc-* flags, one for one. */
export interface ClaimMapping {
  /** The issuer URL (the default username prefix for claims other than `email` is `ISSUER#`). */
  issuer: string;
  /** --oidc-username-claim; default `email` here (kube-apiserver: `sub`). */
  usernameClaim: string;
  /** --oidc-username-prefix: unset = kube-apiserver's default; `-` = none; else prepended. */
  usernamePrefix?: string | undefined;
  /** --oidc-groups-claim; default `groups`. */
  groupsClaim: string;
  /** --oidc-groups-prefix: prepended to every group; unset = none. */
  groupsPrefix?: string | undefined;
}

export class ClaimsRefused extends Error {}

/**
 * The username and groups kube-apiserver's OIDC authenticator would give these claims
 * (k8s.io/apiserver/plugin/pkg/authenticator/token/oidc): the username claim must be a
 * non-empty string; with `email`, an `email_verified` claim, when present, must be true; the
 * username prefix defaults to `ISSUER#` for claims other than `email` and is dropped with `-`;
 * the groups claim may be a string or a list of strings and is optional. A username or group
 * starting with `system:` is refused.
 */
export function identityFromClaims(claims: Record<string, unknown>, mapping: ClaimMapping): Identity {
  const raw = claims[mapping.usernameClaim];
  if (typeof raw !== "string" || raw === "") {
    throw new ClaimsRefused(`the ID token has no string claim ${mapping.usernameClaim} (--oidc-username-claim)`);
  }
  if (mapping.usernameClaim === "email" && "email_verified" in claims && claims["email_verified"] !== true) {
    throw new ClaimsRefused(`the ID token's email ${raw} is not verified (email_verified is not true)`);
  }
  const prefix =
    mapping.usernamePrefix === "-"
      ? ""
      : (mapping.usernamePrefix ?? (mapping.usernameClaim === "email" ? "" : `${mapping.issuer}#`));
  const value = claims[mapping.groupsClaim];
  let groups: string[];
  if (value === undefined || value === null) groups = [];
  else if (typeof value === "string") groups = [value];
  else if (Array.isArray(value) && value.every((group) => typeof group === "string")) groups = value;
  else
    throw new ClaimsRefused(
      `the ID token's ${mapping.groupsClaim} claim (--oidc-groups-claim) is not a string or a list of strings`,
    );
  const identity = {
    username: `${prefix}${raw}`,
    groups: groups.map((group) => `${mapping.groupsPrefix ?? ""}${group}`),
  };
  // Kubernetes reserves system: for its own users and groups (structured authentication refuses
  // them from a JWT too): a provider must never make anyone system:masters or a node here.
  const reserved = [identity.username, ...identity.groups].find((name) => name.startsWith("system:"));
  if (reserved !== undefined) {
    throw new ClaimsRefused(`the ID token maps to ${reserved}: names starting with system: are Kubernetes' own`);
  }
  return identity;
}
