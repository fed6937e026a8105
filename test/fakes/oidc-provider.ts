// A real, certified OpenID provider on loopback for the dashboard's SSO tests: node-oidc-provider
// with one confidential client (PKCE required), accounts with passwords checked by a login form
// of ours (devInteractions off: no "any login" form), consent skipped for that first-party client,
// and email, email_verified and groups in the ID token. It sits behind a small proxy of ours on
// the issuer's port, which can re-sign the token endpoint's ID token with another key: what a
// man in the middle or a rogue provider would hand AEGIS.
import { createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from "node:crypto";
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import Provider, { type Configuration, type KoaContextWithOIDC } from "oidc-provider";

export interface Account {
  password: string;
  claims: { email: string; email_verified?: boolean; groups?: string[] } & Record<string, unknown>;
}

export interface TestProvider {
  /** The issuer URL (the proxy's). */
  issuer: string;
  clientId: string;
  clientSecret: string;
  /**
   * `genuine`: the provider's own answers. `same-kid`: the ID token re-signed with another RSA
   * key under the provider's key id. `new-kid`: re-signed under a key id the provider never had.
   */
  tamper(mode: "genuine" | "same-kid" | "new-kid"): void;
  close(): Promise<void>;
}

export async function startTestProvider(options: {
  redirectUri: string;
  accounts: Record<string, Account>;
}): Promise<TestProvider> {
  const front = createServer();
  await listenOn(front);
  const issuer = `http://127.0.0.1:${(front.address() as AddressInfo).port}`;
  const clientId = "aegis-dashboard";
  const clientSecret = randomBytes(24).toString("base64url");
  const signing = rsaJwk("provider-key-1");
  const provider = new Provider(
    issuer,
    providerConfiguration({ ...options, clientId, clientSecret, jwk: signing.jwk }),
  );
  provider.on("server_error", (_ctx, error) => console.error("oidc-provider server_error", error));
  const back = createServer(providerHandler(provider, options.accounts));
  await listenOn(back);
  const backPort = (back.address() as AddressInfo).port;
  const attacker = rsaJwk("attacker-key");
  let mode: "genuine" | "same-kid" | "new-kid" = "genuine";
  front.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const resign =
      mode === "genuine" || req.url !== "/token"
        ? undefined
        : (body: string): string =>
            resignIdToken(body, attacker.key, mode === "same-kid" ? "provider-key-1" : "attacker-key");
    proxy(req, res, backPort, resign);
  });
  return {
    issuer,
    clientId,
    clientSecret,
    tamper: (next) => {
      mode = next;
    },
    close: async () => {
      await Promise.all([front, back].map(closeServer));
    },
  };
}

function providerConfiguration(options: {
  redirectUri: string;
  accounts: Record<string, Account>;
  clientId: string;
  clientSecret: string;
  jwk: Record<string, unknown>;
}): Configuration {
  return {
    clients: [
      {
        client_id: options.clientId,
        client_secret: options.clientSecret,
        redirect_uris: [options.redirectUri],
        response_types: ["code"],
        grant_types: ["authorization_code"],
        token_endpoint_auth_method: "client_secret_basic",
      },
    ],
    jwks: { keys: [options.jwk] },
    cookies: { keys: [randomBytes(32).toString("hex")] },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    scopes: ["openid", "email", "groups", "profile"],
    claims: { openid: ["sub"], email: ["email", "email_verified"], groups: ["groups"] },
    // Claims of the granted scopes go in the ID token, as Dex, Keycloak and Okta (with a groups
    // claim configured) put them and as kube-apiserver reads them.
    conformIdTokenClaims: false,
    findAccount: (_ctx, id) => {
      const account = options.accounts[id];
      if (!account) return undefined;
      return { accountId: id, claims: () => ({ sub: id, ...account.claims }) };
    },
    // First-party client: the grant is given without a consent page.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const session = ctx.oidc.session;
      const client = ctx.oidc.client;
      if (!session?.accountId || !client) return undefined;
      const existing = session.grantIdFor(client.clientId);
      if (existing) {
        const found = await ctx.oidc.provider.Grant.find(existing);
        if (found) return found;
      }
      const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
      grant.addOIDCScope("openid email groups profile");
      await grant.save();
      session.ensureClientContainer(client.clientId);
      session.grantIdFor(client.clientId, grant.jti);
      return grant;
    },
  };
}

/** Our login form at /interaction/UID; the password is checked. Everything else is the provider's. */
function providerHandler(provider: Provider, accounts: Record<string, Account>) {
  const callback = provider.callback();
  return (req: IncomingMessage, res: ServerResponse): void => {
    const match = /^\/interaction\/([\w-]+)(\/login)?$/.exec(new URL(req.url ?? "/", "http://x").pathname);
    if (!match) {
      void callback(req, res);
      return;
    }
    const uid = match[1] ?? "";
    const handle = async (): Promise<void> => {
      const details = await provider.interactionDetails(req, res);
      if (details.prompt.name !== "login") throw new Error(`unexpected prompt ${details.prompt.name}`);
      if (req.method !== "POST") {
        loginPage(res, uid, "");
        return;
      }
      const form = new URLSearchParams(await readBody(req));
      const username = form.get("username") ?? "";
      const account = accounts[username];
      if (!account || account.password !== form.get("password")) {
        loginPage(res, uid, "Wrong username or password.", 401);
        return;
      }
      await provider.interactionFinished(
        req,
        res,
        { login: { accountId: username } },
        { mergeWithLastSubmission: false },
      );
    };
    handle().catch((error: unknown) => {
      res.statusCode = 500;
      res.end(String(error));
    });
  };
}

function loginPage(res: ServerResponse, uid: string, error: string, status = 200): void {
  res.statusCode = status;
  res.setHeader("Content-Type", "text/html; charset=utf-8");
  res.end(`<!doctype html><html><head><title>Test IdP sign-in</title></head><body>
<h1>Test identity provider</h1><p id="error">${error}</p>
<form method="post" action="/interaction/${uid}/login">
<input id="username" name="username" autocomplete="off"><input id="password" name="password" type="password">
<button id="sign-in" type="submit">Sign in</button></form></body></html>`);
}

function proxy(req: IncomingMessage, res: ServerResponse, port: number, resign?: (body: string) => string): void {
  const upstream = request(
    { host: "127.0.0.1", port, method: req.method, path: req.url, headers: req.headers },
    (answer) => {
      if (!resign || answer.statusCode !== 200) {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        return;
      }
      void readBody(answer).then((body) => {
        const changed = resign(body);
        res.writeHead(200, { ...answer.headers, "content-length": Buffer.byteLength(changed) });
        res.end(changed);
      });
    },
  );
  upstream.on("error", (error) => {
    res.statusCode = 502;
    res.end(String(error));
  });
  req.pipe(upstream);
}

/** The token response with its id_token's claims unchanged but signed by `key` under `kid`. */
function resignIdToken(body: string, key: KeyObject, kid: string): string {
  const json = JSON.parse(body) as { id_token?: string };
  if (!json.id_token) return body;
  const payload = json.id_token.split(".")[1] ?? "";
  const header = Buffer.from(JSON.stringify({ alg: "RS256", typ: "JWT", kid })).toString("base64url");
  const signature = sign("sha256", Buffer.from(`${header}.${payload}`), key).toString("base64url");
  return JSON.stringify({ ...json, id_token: `${header}.${payload}.${signature}` });
}

function rsaJwk(kid: string): { jwk: Record<string, unknown>; key: KeyObject } {
  const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: "jwk" }), kid, alg: "RS256", use: "sig" };
  return { jwk, key: createPrivateKey({ key: jwk, format: "jwk" }) };
}

function readBody(stream: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    stream.on("error", reject);
  });
}

function listenOn(server: Server): Promise<void> {
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}
