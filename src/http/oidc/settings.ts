import type { ClaimMapping } from "./claims.js";
import { MIN_SESSION_SECRET_BYTES } from "./seal.js";

/** What `aegis serve` parsed from the --oidc-* flags (src/wiring/config.ts). */
export interface OidcFlags {
  oidcIssuer?: string | undefined;
  oidcClientId?: string | undefined;
  oidcRedirectUrl?: string | undefined;
  oidcUsernameClaim: string;
  oidcUsernamePrefix?: string | undefined;
  oidcGroupsClaim: string;
  oidcGroupsPrefix?: string | undefined;
  oidcScopes: string;
  oidcSessionTtl: number;
}

export interface SsoSettings {
  issuer: URL;
  clientId: string;
  /** Absent: a public client (PKCE only). */
  clientSecret?: string | undefined;
  redirectUrl: URL;
  scopes: readonly string[];
  mapping: ClaimMapping;
  sessionTtlSeconds: number;
  sessionSecret: string;
}

/**
 * The dashboard's single sign-on settings, or undefined when --oidc-issuer is not given. The
 * secrets come from the environment only (flags show up in `ps`): AEGIS_OIDC_CLIENT_SECRET
 * (optional: without it AEGIS is a public client and relies on PKCE) and AEGIS_SESSION_SECRET
 * (required: seals the cookies, the same on every replica). Throws naming what is wrong.
 */
export function loadSsoSettings(
  flags: OidcFlags,
  env: NodeJS.ProcessEnv,
  dashboardUrl: string | undefined,
): SsoSettings | undefined {
  if (!flags.oidcIssuer) {
    if (flags.oidcClientId || flags.oidcRedirectUrl) {
      throw new Error("--oidc-client-id and --oidc-redirect-url need --oidc-issuer (AEGIS_OIDC_ISSUER)");
    }
    return undefined;
  }
  const issuer = secureUrl(flags.oidcIssuer, "--oidc-issuer (AEGIS_OIDC_ISSUER)");
  if (!flags.oidcClientId) throw new Error("--oidc-issuer needs --oidc-client-id (AEGIS_OIDC_CLIENT_ID)");
  const redirect =
    flags.oidcRedirectUrl ?? (dashboardUrl ? `${dashboardUrl.replace(/\/+$/, "")}/auth/callback` : undefined);
  if (!redirect) {
    throw new Error(
      "--oidc-issuer needs the redirect URL the provider sends users back to: set AEGIS_DASHBOARD_URL (then it is <dashboard>/auth/callback) or --oidc-redirect-url",
    );
  }
  const redirectUrl = secureUrl(redirect, "the OIDC redirect URL (--oidc-redirect-url or AEGIS_DASHBOARD_URL)");
  const sessionSecret = env["AEGIS_SESSION_SECRET"] ?? "";
  if (sessionSecret === "") {
    throw new Error(
      "--oidc-issuer needs AEGIS_SESSION_SECRET: at least 32 bytes (openssl rand -base64 48) from a Secret shared by every replica; it seals the session cookies",
    );
  }
  if (Buffer.byteLength(sessionSecret, "utf8") < MIN_SESSION_SECRET_BYTES) {
    throw new Error(
      `AEGIS_SESSION_SECRET is ${Buffer.byteLength(sessionSecret, "utf8")} bytes; it must be at least ${MIN_SESSION_SECRET_BYTES} (openssl rand -base64 48)`,
    );
  }
  const scopes = flags.oidcScopes.split(/[\s,]+/).filter((scope) => scope !== "");
  if (!scopes.includes("openid")) throw new Error("--oidc-scopes must include openid");
  return {
    issuer,
    clientId: flags.oidcClientId,
    clientSecret: env["AEGIS_OIDC_CLIENT_SECRET"] || undefined,
    redirectUrl,
    scopes,
    mapping: {
      issuer: flags.oidcIssuer,
      usernameClaim: flags.oidcUsernameClaim,
      usernamePrefix: flags.oidcUsernamePrefix,
      groupsClaim: flags.oidcGroupsClaim,
      groupsPrefix: flags.oidcGroupsPrefix,
    },
    sessionTtlSeconds: flags.oidcSessionTtl,
    sessionSecret,
  };
}

/** http:// only on loopback (a test provider, a port-forward); anything else must be https://. */
export function isLoopback(url: URL): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function secureUrl(text: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new Error(`${what} is not a URL: ${text}`);
  }
  if (url.protocol === "https:" || (url.protocol === "http:" && isLoopback(url))) return url;
  throw new Error(`${what} must be https:// (http:// only on loopback): ${text}`);
}
