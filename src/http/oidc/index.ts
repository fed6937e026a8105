import express, { type Request, type Response } from "express";
import * as client from "openid-client";
import type { Identity } from "../../api/identity.js";
import type { Logger } from "../../ports/logger.js";
import { ClaimsRefused, identityFromClaims } from "./claims.js";
import { CookieSealer } from "./seal.js";
import { fromDashboard, Sessions } from "./session.js";
import { isLoopback, type SsoSettings } from "./settings.js";

export { loadSsoSettings, type OidcFlags, type SsoSettings } from "./settings.js";
export { CSRF_HEADER, CSRF_HEADER_VALUE, LOGIN_COOKIE, SESSION_COOKIE } from "./session.js";

/** How long a sign-in may take at the provider before /auth/callback refuses it. */
const LOGIN_TTL_SECONDS = 600;

export interface Sso {
  /** GET /auth/config, GET /auth/login, GET /auth/callback, POST /auth/logout. */
  router: express.Router;
  /** For createApiApp's `sessionIdentity`: the session cookie's user, or null. */
  sessionIdentity: (req: Request) => Promise<Identity | null>;
  /** Discovers the provider now (it is otherwise discovered at the first sign-in). */
  discover: () => Promise<void>;
}

export interface SsoOptions {
  logger: Pick<Logger, "info" | "warn" | "error">;
  /** Milliseconds since the epoch; tests move it to expire sessions. */
  now?: () => number;
}

/**
 * Single sign-on for the dashboard with OpenID Connect (docs/sso.md). AEGIS is the relying
 * party: authorization code flow with PKCE (S256), state and nonce checked, the ID token verified
 * by openid-client (issuer, audience, expiry, nonce, and its signature against the provider's
 * JWKS: enableNonRepudiationChecks). The ID
 * token's claims become a Kubernetes identity the way kube-apiserver's --oidc-* flags make them
 * (claims.ts), kept in a sealed cookie (session.ts); RBAC is asked on every call, as for tokens.
 */
export function createSso(settings: SsoSettings, options: SsoOptions): Sso {
  const now = options.now ?? Date.now;
  const { logger } = options;
  const sealer = new CookieSealer(settings.sessionSecret);
  const dashboardOrigin = settings.redirectUrl.origin;
  const sessions = new Sessions({ sealer, ttlSeconds: settings.sessionTtlSeconds, dashboardOrigin, now });
  const home = settings.redirectUrl.pathname.endsWith("/auth/callback")
    ? settings.redirectUrl.pathname.slice(0, -"auth/callback".length)
    : "/";

  let configuration: Promise<client.Configuration> | undefined;
  const discover = (): Promise<client.Configuration> => {
    configuration ??= client
      .discovery(
        settings.issuer,
        settings.clientId,
        { redirect_uris: [settings.redirectUrl.href], response_types: ["code"] },
        settings.clientSecret === undefined ? client.None() : client.ClientSecretBasic(settings.clientSecret),
        {
          timeout: 10,
          // openid-client checks an ID token's claims but, per OIDC Core 3.1.3.7, not its
          // signature when it comes straight from the token endpoint over TLS. AEGIS checks the
          // signature against the provider's JWKS too: a token endpoint answer that was tampered
          // with (a proxy, a misrouted DNS name) must not sign anyone in.
          execute: [
            client.enableNonRepudiationChecks,
            ...(settings.issuer.protocol === "http:" && isLoopback(settings.issuer)
              ? [client.allowInsecureRequests]
              : []),
          ],
        },
      )
      .catch((error: unknown) => {
        configuration = undefined; // try again at the next sign-in
        throw error;
      });
    return configuration;
  };

  const router = express.Router();
  router.get("/auth/config", (_req, res) => {
    res.set("Cache-Control", "no-store").json({ enabled: true, loginUrl: "/auth/login", issuer: settings.issuer.href });
  });

  router.get("/auth/login", async (_req, res) => {
    let config: client.Configuration;
    try {
      config = await discover();
    } catch (error) {
      logger.error({ err: error, issuer: settings.issuer.href }, "OIDC discovery failed");
      failure(res, 502, `the identity provider ${settings.issuer.href} could not be reached: ${message(error)}`);
      return;
    }
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: settings.redirectUrl.href,
      response_type: "code",
      scope: settings.scopes.join(" "),
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: "S256",
      state,
      nonce,
    });
    res
      .set({
        "Cache-Control": "no-store",
        "Set-Cookie": sessions.issueLogin({ state, nonce, verifier }, LOGIN_TTL_SECONDS),
      })
      .redirect(302, url.href);
  });

  router.get("/auth/callback", async (req, res) => {
    // One sign-in, one callback: whatever happens, the login state is used up.
    res.append("Set-Cookie", sessions.clearLogin());
    const login = sessions.login(req);
    if (!login) {
      failure(res, 400, "no sign-in in progress here (its cookie is missing or older than 10 minutes): start again");
      return;
    }
    const current = new URL(settings.redirectUrl.href);
    current.search = new URL(req.originalUrl, "http://callback.invalid").search;
    let identity: Identity;
    try {
      const config = await discover();
      const tokens = await client.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: login.verifier,
        expectedState: login.state,
        expectedNonce: login.nonce,
        idTokenExpected: true,
      });
      const claims = tokens.claims();
      if (!claims) throw new Error("the provider returned no ID token");
      identity = identityFromClaims(claims, settings.mapping);
    } catch (error) {
      const status = error instanceof ClaimsRefused ? 403 : unreachable(error) ? 502 : 400;
      logger.warn({ err: error, status }, "OIDC sign-in refused");
      failure(res, status, message(error));
      return;
    }
    res.append("Set-Cookie", sessions.issue(identity));
    logger.info({ user: identity.username, groups: identity.groups }, "dashboard sign-in (OIDC)");
    res.set("Cache-Control", "no-store").redirect(303, home);
  });

  router.post("/auth/logout", (req, res) => {
    if (!fromDashboard(req, dashboardOrigin)) {
      res.status(403).json({
        error: "CrossSiteRequest",
        message: `sign out from the dashboard: the request needs the header X-Requested-With: aegis or Origin ${dashboardOrigin}`,
      });
      return;
    }
    // The cookie is stateless: clearing it signs this browser out; a copy taken earlier stays
    // valid until its expiry (docs/sso.md).
    res.set({ "Set-Cookie": sessions.clear(), "Cache-Control": "no-store" }).status(204).end();
  });

  return {
    router,
    sessionIdentity: (req) => Promise.resolve(sessions.identity(req)),
    discover: async () => {
      await discover();
    },
  };
}

function failure(res: Response, status: number, text: string): void {
  res
    .status(status)
    .set({ "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff" })
    .type("text/plain; charset=utf-8")
    .send(`Sign-in failed: ${text}\n\nTry again: /auth/login\n`);
}

function message(error: unknown): string {
  if (error instanceof client.AuthorizationResponseError)
    return `the provider answered ${error.error}${error.error_description ? `: ${error.error_description}` : ""}`;
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : undefined;
  return cause && cause !== error.message ? `${error.message} (${cause})` : error.message;
}

/** A failure to reach the provider (not a refusal): fetch's TypeError or a timeout. */
function unreachable(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    if (e.name === "TimeoutError" || (e instanceof TypeError && e.message === "fetch failed")) return true;
  }
  return false;
}
