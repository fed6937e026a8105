// The pieces of dashboard SSO that need no provider: claims → identity as kube-apiserver maps
// them, the settings' refusals, the cookie sealing, and the CSRF rule for cookie sessions.
import type { Request } from "express";
import { describe, expect, it } from "vitest";
import { ClaimsRefused, identityFromClaims, type ClaimMapping } from "../../../src/http/oidc/claims.js";
import { CookieSealer } from "../../../src/http/oidc/seal.js";
import { Sessions } from "../../../src/http/oidc/session.js";
import { loadSsoSettings, type OidcFlags } from "../../../src/http/oidc/settings.js";
import { loadServeConfig } from "../../../src/wiring/config.js";

const SECRET = "s".repeat(32);
const ISSUER = "https://dex.example.com";

describe("identityFromClaims (kube-apiserver's --oidc-* mapping)", () => {
  const mapping: ClaimMapping = { issuer: ISSUER, usernameClaim: "email", groupsClaim: "groups" };

  it("takes email without a prefix by default, and groups as given", () => {
    expect(identityFromClaims({ email: "a@x.io", email_verified: true, groups: ["g1", "g2"] }, mapping)).toEqual({
      username: "a@x.io",
      groups: ["g1", "g2"],
    });
  });

  it("prefixes other username claims with ISSUER# unless a prefix (or - for none) is given", () => {
    const sub = { ...mapping, usernameClaim: "sub" };
    expect(identityFromClaims({ sub: "123" }, sub).username).toBe(`${ISSUER}#123`);
    expect(identityFromClaims({ sub: "123" }, { ...sub, usernamePrefix: "-" }).username).toBe("123");
    expect(identityFromClaims({ sub: "123" }, { ...sub, usernamePrefix: "oidc:" }).username).toBe("oidc:123");
  });

  it("prefixes every group and accepts one group as a string", () => {
    expect(
      identityFromClaims({ email: "a@x.io", groups: "ops" }, { ...mapping, groupsPrefix: "oidc:" }).groups,
    ).toEqual(["oidc:ops"]);
    expect(identityFromClaims({ email: "a@x.io" }, mapping).groups).toEqual([]);
  });

  it("refuses an unverified email, a missing username claim and a malformed groups claim", () => {
    expect(() => identityFromClaims({ email: "a@x.io", email_verified: false }, mapping)).toThrow(ClaimsRefused);
    expect(() => identityFromClaims({ sub: "1" }, mapping)).toThrow(/no string claim email/);
    expect(() => identityFromClaims({ email: "a@x.io", groups: [1] }, mapping)).toThrow(/not a string or a list/);
    expect(() => identityFromClaims({ email: "a@x.io", groups: ["system:masters"] }, mapping)).toThrow(
      /system:masters/,
    );
    expect(() =>
      identityFromClaims({ sub: "system:admin" }, { ...mapping, usernameClaim: "sub", usernamePrefix: "-" }),
    ).toThrow(/system:admin/);
    expect(
      identityFromClaims({ email: "a@x.io", groups: ["system:masters"] }, { ...mapping, groupsPrefix: "oidc:" }).groups,
    ).toEqual(["oidc:system:masters"]);
  });
});

describe("loadSsoSettings", () => {
  const flags: OidcFlags = {
    oidcIssuer: ISSUER,
    oidcClientId: "aegis",
    oidcUsernameClaim: "email",
    oidcGroupsClaim: "groups",
    oidcScopes: "openid email groups",
    oidcSessionTtl: 28_800,
  };
  const env = { AEGIS_SESSION_SECRET: SECRET, AEGIS_OIDC_CLIENT_SECRET: "shh" };

  it("is off without an issuer, and derives the redirect URL from the dashboard URL", () => {
    expect(
      loadSsoSettings({ ...flags, oidcIssuer: undefined, oidcClientId: undefined }, env, undefined),
    ).toBeUndefined();
    const settings = loadSsoSettings(flags, env, "https://aegis.example.com/");
    expect(settings?.redirectUrl.href).toBe("https://aegis.example.com/auth/callback");
    expect(settings?.clientSecret).toBe("shh");
    expect(settings?.scopes).toEqual(["openid", "email", "groups"]);
  });

  it("reads aegis serve's --oidc-* flags and environment (defaults: email, groups, 8 h)", () => {
    const env = {
      AEGIS_OIDC_ISSUER: ISSUER,
      AEGIS_OIDC_CLIENT_ID: "aegis",
      AEGIS_DASHBOARD_URL: "https://aegis.example.com",
      AEGIS_SESSION_SECRET: SECRET,
    };
    const config = loadServeConfig({ oidcGroupsPrefix: "oidc:" }, env);
    const settings = loadSsoSettings(config, env, config.integrations.AEGIS_DASHBOARD_URL);
    expect(settings).toMatchObject({
      clientId: "aegis",
      clientSecret: undefined,
      sessionTtlSeconds: 28_800,
      mapping: { issuer: ISSUER, usernameClaim: "email", groupsClaim: "groups", groupsPrefix: "oidc:" },
    });
    expect(settings?.redirectUrl.href).toBe("https://aegis.example.com/auth/callback");
    expect(() => loadServeConfig({ oidcSessionTtl: "10" }, env)).toThrow(/oidcSessionTtl/);
  });

  it("names what is missing or unsafe", () => {
    const url = "https://aegis.example.com";
    expect(() => loadSsoSettings(flags, {}, url)).toThrow(/needs AEGIS_SESSION_SECRET/);
    expect(() => loadSsoSettings(flags, { AEGIS_SESSION_SECRET: "short" }, url)).toThrow(
      /is 5 bytes; it must be at least 32/,
    );
    expect(() => loadSsoSettings(flags, env, undefined)).toThrow(/AEGIS_DASHBOARD_URL .* or --oidc-redirect-url/);
    expect(() => loadSsoSettings({ ...flags, oidcClientId: undefined }, env, url)).toThrow(/--oidc-client-id/);
    expect(() => loadSsoSettings({ ...flags, oidcIssuer: "http://dex.example.com" }, env, url)).toThrow(
      /must be https/,
    );
    expect(() => loadSsoSettings(flags, env, "http://aegis.example.com")).toThrow(/redirect URL .* must be https/);
    expect(() => loadSsoSettings({ ...flags, oidcScopes: "email" }, env, url)).toThrow(/must include openid/);
    expect(
      loadSsoSettings({ ...flags, oidcIssuer: "http://127.0.0.1:5556" }, env, "http://localhost:8750"),
    ).toBeDefined();
  });
});

describe("CookieSealer", () => {
  it("opens what it sealed, for the same purpose and key only", () => {
    const sealer = new CookieSealer(SECRET);
    const sealed = sealer.seal("aegis_session", { u: "alice" });
    expect(sealer.open("aegis_session", sealed)).toEqual({ u: "alice" });
    expect(sealer.open("aegis_oidc", sealed)).toBeNull();
    expect(new CookieSealer("t".repeat(32)).open("aegis_session", sealed)).toBeNull();
    expect(new CookieSealer(SECRET).open("aegis_session", sealed)).toEqual({ u: "alice" });
    expect(sealer.open("aegis_session", `${sealed}x`)).toBeNull();
    expect(() => new CookieSealer("short")).toThrow(/at least 32 bytes/);
  });
});

describe("Sessions: cookie sessions and CSRF", () => {
  const origin = "https://aegis.example.com";
  const sessions = new Sessions({
    sealer: new CookieSealer(SECRET),
    ttlSeconds: 60,
    dashboardOrigin: origin,
    now: Date.now,
  });
  const value = /^aegis_session=([^;]+)/.exec(sessions.issue({ username: "alice", groups: ["ops"] }))?.[1] ?? "";
  const request = (method: string, headers: Record<string, string>): Request =>
    ({ method, get: (name: string) => headers[name.toLowerCase()] }) as unknown as Request;
  const cookie = `aegis_session=${value}`;

  it("reads a session on GET without any header", () => {
    expect(sessions.identity(request("GET", { cookie }))).toEqual({ username: "alice", groups: ["ops"] });
  });

  it("counts a cookie on POST only with X-Requested-With: aegis or the dashboard's Origin", () => {
    expect(sessions.identity(request("POST", { cookie }))).toBeNull();
    expect(sessions.identity(request("POST", { cookie, "x-requested-with": "aegis" }))).not.toBeNull();
    expect(sessions.identity(request("POST", { cookie, origin }))).not.toBeNull();
    expect(
      sessions.identity(request("POST", { cookie, origin: "https://evil.example", "x-requested-with": "aegis" })),
    ).toBeNull();
    expect(sessions.identity(request("DELETE", { cookie }))).toBeNull();
  });
});
