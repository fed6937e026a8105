import type { Request } from "express";
import type { Identity } from "../../api/identity.js";
import type { CookieSealer } from "./seal.js";

/** The dashboard's session cookie (the OpenAPI document's `session` security scheme). */
export const SESSION_COOKIE = "aegis_session";
/** The sign-in in progress: state, nonce and PKCE verifier, for the callback only. */
export const LOGIN_COOKIE = "aegis_oidc";
/** The header the dashboard's script sends on every call; a cross-site form or image cannot. */
export const CSRF_HEADER = "X-Requested-With";
export const CSRF_HEADER_VALUE = "aegis";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
const MAX_COOKIE_BYTES = 4000;

interface SessionPayload {
  u: string;
  g: string[];
  /** Seconds since the epoch. */
  iat: number;
  exp: number;
}

export interface LoginState {
  state: string;
  nonce: string;
  verifier: string;
  exp: number;
}

/** The values of the cookie `name` in the request's Cookie header (usually one). */
export function cookieValues(req: Request, name: string): string[] {
  const header = req.get("cookie") ?? "";
  const values: string[] = [];
  for (const part of header.split(";")) {
    const index = part.indexOf("=");
    if (index < 0 || part.slice(0, index).trim() !== name) continue;
    values.push(part.slice(index + 1).trim());
  }
  return values;
}

/**
 * Is this request one the dashboard's own script made? A page on another site can make the
 * browser send our cookie with a form POST (SameSite=Lax lets top-level navigations through, and
 * a sibling subdomain is same-site), but it cannot add a custom header without a CORS preflight,
 * which AEGIS never answers, and it cannot fake Origin. So: a present Origin must be the
 * dashboard's; without one, `X-Requested-With: aegis` must be there.
 */
export function fromDashboard(req: Request, dashboardOrigin: string): boolean {
  const origin = req.get("origin");
  if (origin !== undefined && origin !== "null") return origin === dashboardOrigin;
  return req.get(CSRF_HEADER) === CSRF_HEADER_VALUE;
}

export interface SessionOptions {
  sealer: CookieSealer;
  ttlSeconds: number;
  /** scheme://host[:port] of the dashboard (the redirect URL's origin). */
  dashboardOrigin: string;
  /** Milliseconds since the epoch. */
  now: () => number;
}

/** Sealed, stateless sessions: any replica holding AEGIS_SESSION_SECRET opens any replica's cookie. */
export class Sessions {
  constructor(private readonly options: SessionOptions) {}

  /** A Set-Cookie value holding `identity` until the session's lifetime ends. */
  issue(identity: Identity): string {
    const iat = Math.floor(this.options.now() / 1000);
    const payload: SessionPayload = {
      u: identity.username,
      g: [...identity.groups],
      iat,
      exp: iat + this.options.ttlSeconds,
    };
    const sealed = this.options.sealer.seal(SESSION_COOKIE, payload);
    if (sealed.length > MAX_COOKIE_BYTES) {
      throw new Error(
        `the session of ${identity.username} (${identity.groups.length} groups) does not fit in a cookie: narrow the groups the provider sends (--oidc-groups-claim)`,
      );
    }
    return cookie(SESSION_COOKIE, sealed, { path: "/", maxAge: this.options.ttlSeconds });
  }

  clear(): string {
    return cookie(SESSION_COOKIE, "", { path: "/", maxAge: 0 });
  }

  /**
   * The signed-in user of a cookie-authenticated request, or null: no cookie, more than one, a
   * cookie that does not open with the shared key, an expired session, or an unsafe method
   * (POST…) that does not come from the dashboard's script (CSRF, see fromDashboard).
   */
  identity(req: Request): Identity | null {
    const values = cookieValues(req, SESSION_COOKIE);
    if (values.length !== 1 || !values[0]) return null;
    if (!SAFE_METHODS.has(req.method) && !fromDashboard(req, this.options.dashboardOrigin)) return null;
    const payload = this.options.sealer.open(SESSION_COOKIE, values[0]);
    if (!isSessionPayload(payload)) return null;
    if (payload.exp * 1000 <= this.options.now()) return null;
    return { username: payload.u, groups: payload.g };
  }

  issueLogin(state: Omit<LoginState, "exp">, ttlSeconds: number): string {
    const value: LoginState = { ...state, exp: Math.floor(this.options.now() / 1000) + ttlSeconds };
    return cookie(LOGIN_COOKIE, this.options.sealer.seal(LOGIN_COOKIE, value), {
      path: "/auth/callback",
      maxAge: ttlSeconds,
    });
  }

  clearLogin(): string {
    return cookie(LOGIN_COOKIE, "", { path: "/auth/callback", maxAge: 0 });
  }

  login(req: Request): LoginState | null {
    const values = cookieValues(req, LOGIN_COOKIE);
    if (values.length !== 1 || !values[0]) return null;
    const value = this.options.sealer.open(LOGIN_COOKIE, values[0]);
    if (!isLoginState(value) || value.exp * 1000 <= this.options.now()) return null;
    return value;
  }
}

/**
 * HttpOnly (no script reads it), Secure (settings refuse a dashboard URL that is neither https://
 * nor loopback, where browsers treat http:// as a secure context and keep Secure cookies), and
 * SameSite=Lax: sent on the provider's redirect back to /auth/callback (a top-level GET) but not
 * on another site's subresource or POST.
 */
function cookie(name: string, value: string, options: { path: string; maxAge: number }): string {
  return `${name}=${value}; Path=${options.path}; Max-Age=${options.maxAge}; HttpOnly; Secure; SameSite=Lax`;
}

function isSessionPayload(value: unknown): value is SessionPayload {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v["u"] === "string" &&
    v["u"] !== "" &&
    Array.isArray(v["g"]) &&
    v["g"].every((group) => typeof group === "string") &&
    typeof v["exp"] === "number" &&
    typeof v["iat"] === "number"
  );
}

function isLoginState(value: unknown): value is LoginState {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v["state"] === "string" &&
    typeof v["nonce"] === "string" &&
    typeof v["verifier"] === "string" &&
    typeof v["exp"] === "number"
  );
}
