// SqlDatabase over a `pg` connection pool (DATABASE_URL).
import { isIP } from "node:net";
import type { ConnectionOptions } from "node:tls";
import pg from "pg";
import { pemFile, type PemKind } from "../../tls/pem-file.js";
import type { SqlDatabase, SqlExecutor, SqlRow } from "./sql-database.js";

export interface PgDatabaseOptions {
  readonly connectionString: string;
  readonly maxConnections?: number;
  /** How long to wait for a connection: bounds how long a record waits before it is spooled. */
  readonly connectTimeoutMs?: number;
  /** Client-side bound on one query, so a hung server cannot hold a batch forever. */
  readonly queryTimeoutMs?: number;
  /**
   * Errors of idle pooled connections (e.g. the server restarted). `pg` emits them as `error`
   * events that would crash the process if nobody listened; the pool replaces the connection.
   */
  readonly onIdleClientError: (err: Error) => void;
}

export function createPgDatabase(options: PgDatabaseOptions): SqlDatabase {
  // libpq's TLS parameters, read here: `pg` reads them its own way (see parsePgTls).
  const { connectionString, tls, sslnegotiation } = parsePgTls(options.connectionString);
  const pool = new pg.Pool({
    connectionString,
    ssl: pgSslOptions(tls),
    ...(sslnegotiation === undefined ? {} : ({ sslnegotiation } as Record<string, string>)),
    max: options.maxConnections ?? 4,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 3_000,
    query_timeout: options.queryTimeoutMs ?? 30_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: "aegis-evidence",
  });
  pool.on("error", options.onIdleClientError);
  return new PgDatabase(pool, connectionHint(tls, options.connectionString));
}

class PgDatabase implements SqlDatabase {
  readonly backend = "postgres";
  readonly supportsRoles = true;

  constructor(
    private readonly pool: pg.Pool,
    private readonly explain: (err: unknown) => unknown,
  ) {}

  async query(text: string, params: readonly unknown[] = []): Promise<{ rows: SqlRow[] }> {
    try {
      const result = await this.pool.query<SqlRow>(text, [...params]);
      return { rows: result.rows };
    } catch (err) {
      throw this.explain(err);
    }
  }

  async exec(script: string): Promise<void> {
    try {
      await this.pool.query(script);
    } catch (err) {
      throw this.explain(err);
    }
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw this.explain(err);
    }
    let brokenConnection: Error | undefined;
    // A checked-out client has no pool listener: if the server drops the connection between two
    // statements, `pg` emits `error` on the client, which would crash the process unheard. The
    // statement in flight (or the next one) fails with it anyway; here it only marks the
    // connection broken so it is destroyed rather than returned to the pool.
    const onConnectionError = (err: Error): void => {
      brokenConnection = err;
    };
    client.on("error", onConnectionError);
    try {
      await client.query("BEGIN");
      const result = await work(clientExecutor(client));
      await client.query("COMMIT");
      return result;
    } catch (err) {
      brokenConnection ??= await rollback(client);
      throw err;
    } finally {
      client.removeListener("error", onConnectionError);
      // A connection that dropped, or whose ROLLBACK failed, is in an unknown state: destroy it.
      client.release(brokenConnection);
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

function clientExecutor(client: pg.PoolClient): SqlExecutor {
  return {
    async query(text, params = []) {
      const result = await client.query<SqlRow>(text, [...params]);
      return { rows: result.rows };
    },
    async exec(script) {
      await client.query(script);
    },
  };
}

/** Rolls back; returns the rollback's own error (the caller rethrows the original one). */
async function rollback(client: pg.PoolClient): Promise<Error | undefined> {
  try {
    await client.query("ROLLBACK");
    return undefined;
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

/**
 * libpq's `sslmode` values AEGIS connects with. `prefer` and `allow` are refused: libpq falls
 * back to an unencrypted connection with them, which `pg` cannot do (it would fail or, worse,
 * be read as something else).
 */
export type PgSslMode = "disable" | "require" | "verify-ca" | "verify-full";

export interface PgTls {
  readonly mode: PgSslMode;
  /** `sslrootcert`: a PEM CA file, or `system` (Node's CA store). Unset with verify-full: the system store. */
  readonly rootCert?: string;
  /** `sslcert` / `sslkey`: a client certificate and its key (PEM files), given together. */
  readonly cert?: string;
  readonly key?: string;
  readonly keyPassword?: string;
}

/** Taken out of the connection string: pg-connection-string would read them its own way. */
const TLS_PARAMETERS = [
  "sslmode",
  "sslrootcert",
  "sslcert",
  "sslkey",
  "sslpassword",
  "ssl",
  "uselibpqcompat",
  "sslnegotiation",
] as const;
/** libpq's variables, for a parameter the URL does not give. */
const TLS_ENVIRONMENT = {
  sslmode: "PGSSLMODE",
  sslrootcert: "PGSSLROOTCERT",
  sslcert: "PGSSLCERT",
  sslkey: "PGSSLKEY",
  sslnegotiation: "PGSSLNEGOTIATION",
} as const;

/**
 * The TLS settings of a PostgreSQL URL with libpq's meaning (what `psql` and every other client
 * do with the same URL), and the URL without them. `pg` 8 gives them another: its
 * pg-connection-string treats `prefer`, `require` and `verify-ca` as verify-full, turns any
 * `sslrootcert`/`sslcert`/`sslkey` into verify-full, and reads `sslrootcert=system` as a file.
 *
 * - `disable` (and no TLS parameter at all, `pg`'s default): no TLS;
 * - `require` (or `pg`'s `no-verify`): encrypted, the server not authenticated; with
 *   `sslrootcert`, as libpq does, `verify-ca`;
 * - `verify-ca`: the server's certificate must chain to `sslrootcert` (required), any name;
 * - `verify-full`: that, and the certificate must name the host connected to; without
 *   `sslrootcert` (or with `sslrootcert=system`) the CA is one of the system store's;
 * - `sslrootcert`, `sslcert` or `sslkey` without `sslmode` (and `ssl=true`): verify-full, as `pg`;
 * - `allow`, `prefer`, an unknown mode, `sslcert` without `sslkey`: an error naming the fix.
 *
 * Parameters the URL lacks come from libpq's PGSSLMODE, PGSSLROOTCERT, PGSSLCERT, PGSSLKEY.
 */
export function parsePgTls(
  connectionString: string,
  env: NodeJS.ProcessEnv = process.env,
): { connectionString: string; tls: PgTls; sslnegotiation?: string } {
  const queryAt = connectionString.indexOf("?");
  const base = queryAt === -1 ? connectionString : connectionString.slice(0, queryAt);
  const params = new URLSearchParams(queryAt === -1 ? "" : connectionString.slice(queryAt + 1));
  const value = (name: (typeof TLS_PARAMETERS)[number]): string | undefined => {
    const fromUrl = params.get(name) || undefined;
    const variable = name in TLS_ENVIRONMENT ? TLS_ENVIRONMENT[name as keyof typeof TLS_ENVIRONMENT] : undefined;
    return fromUrl ?? ((variable && env[variable]) || undefined);
  };
  const given = Object.fromEntries(TLS_PARAMETERS.map((name) => [name, value(name)])) as Record<
    (typeof TLS_PARAMETERS)[number],
    string | undefined
  >;
  for (const name of TLS_PARAMETERS) params.delete(name);
  const rest = params.toString();
  const stripped = rest === "" ? base : `${base}?${rest}`;

  const { sslrootcert: rootCert, sslcert: cert, sslkey: key } = given;
  if ((cert === undefined) !== (key === undefined))
    throw new Error("the database URL gives one of sslcert and sslkey: a client certificate needs both files");
  const mode = sslModeOf(given.sslmode, given.ssl, rootCert, cert !== undefined);
  if (rootCert === "system" && mode !== "verify-full")
    throw new Error(
      `sslrootcert=system needs sslmode=verify-full (the database URL has sslmode=${given.sslmode ?? "unset"}): with the system CAs, a certificate any public CA issued for any name would pass`,
    );
  if (mode === "verify-ca" && rootCert === undefined)
    throw new Error(
      "sslmode=verify-ca needs sslrootcert=<CA file> in the database URL (it checks the chain, not the name); or use sslmode=verify-full",
    );
  if (given.sslnegotiation === "direct" && mode === "disable")
    throw new Error("sslnegotiation=direct needs TLS: set sslmode=verify-full (or require) in the database URL");
  const tls: PgTls = {
    mode,
    ...(rootCert === undefined ? {} : { rootCert }),
    ...(cert === undefined || key === undefined ? {} : { cert, key }),
    ...(given.sslpassword === undefined ? {} : { keyPassword: given.sslpassword }),
  };
  return {
    connectionString: stripped,
    tls,
    ...(given.sslnegotiation === undefined ? {} : { sslnegotiation: given.sslnegotiation }),
  };
}

function sslModeOf(
  sslmode: string | undefined,
  ssl: string | undefined,
  rootCert: string | undefined,
  clientCert: boolean,
): PgSslMode {
  switch (sslmode) {
    case undefined:
      if (ssl === "true" || ssl === "1") return "verify-full";
      if (ssl === "no-verify") return "require";
      if (ssl === "false" || ssl === "0") return "disable";
      return rootCert !== undefined || clientCert ? "verify-full" : "disable";
    case "disable":
      return "disable";
    case "require":
      // libpq: `require` with a root certificate checks the chain, as verify-ca.
      return rootCert === undefined ? "require" : "verify-ca";
    case "no-verify":
      return "require";
    case "verify-ca":
    case "verify-full":
      return sslmode;
    case "allow":
    case "prefer":
      throw new Error(
        `sslmode=${sslmode} in the database URL is not supported: libpq falls back to an unencrypted connection with it, which node-postgres cannot do; use sslmode=verify-full (with sslrootcert=<CA file>), or sslmode=disable for a server on this host`,
      );
    default:
      throw new Error(`sslmode=${sslmode} in the database URL is not one of disable, require, verify-ca, verify-full`);
  }
}

/** `pg`'s `ssl` option for `tls`; files are read again for every new connection (rotation). */
export function pgSslOptions(tls: PgTls): false | ConnectionOptions {
  if (tls.mode === "disable") return false;
  const options: ConnectionOptions = {};
  const fromFile = (name: "ca" | "cert" | "key", file: string, kind: PemKind, what: string): void => {
    const source = pemFile(file, kind, what);
    Object.defineProperty(options, name, { enumerable: true, configurable: true, get: () => source.read() });
  };
  if (tls.mode === "require") options.rejectUnauthorized = false;
  if (tls.rootCert !== undefined && tls.rootCert !== "system")
    fromFile("ca", tls.rootCert, "certificate", "the database URL's sslrootcert");
  // verify-ca: the chain, not the name.
  if (tls.mode === "verify-ca") options.checkServerIdentity = () => undefined;
  if (tls.cert !== undefined && tls.key !== undefined) {
    fromFile("cert", tls.cert, "certificate", "the database URL's sslcert");
    fromFile("key", tls.key, "private key", "the database URL's sslkey");
  }
  if (tls.keyPassword !== undefined) options.passphrase = tls.keyPassword;
  return options;
}

/** Where a connection string points, for messages (never its credentials). */
function pgTarget(connectionString: string): { host: string; where: string } {
  try {
    const url = new URL(connectionString);
    const host =
      url.searchParams.get("host") || decodeURIComponent(url.hostname).replace(/^\[|\]$/g, "") || "localhost";
    const port = url.searchParams.get("port") || url.port || "5432";
    return { host, where: `${host}:${port}` };
  } catch {
    return { host: "the database host", where: "the database" };
  }
}

/** OpenSSL's verdicts on a certificate chain that does not lead to a trusted CA. */
const UNTRUSTED_CHAIN = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
]);

/**
 * Turns the errors of a TLS misconfiguration (an untrusted CA, a certificate for another name, a
 * server without TLS, pg_hba.conf allowing TLS only) into one that says what to fix, keeping the
 * original as `cause` and its `code` (so isConnectionError and sqlState judge it as before).
 * Other errors pass unchanged.
 */
function connectionHint(tls: PgTls, connectionString: string): (err: unknown) => unknown {
  const { host, where } = pgTarget(connectionString);
  return (err) => {
    if (!(err instanceof Error)) return err;
    const code = (err as { code?: unknown }).code;
    const fix = ((): string | undefined => {
      if (typeof code === "string" && UNTRUSTED_CHAIN.has(code)) {
        const trusted =
          tls.rootCert === undefined || tls.rootCert === "system"
            ? "any CA of the system store (no sslrootcert in the database URL)"
            : `the CA in sslrootcert=${tls.rootCert}`;
        return `the server's certificate is not signed by ${trusted}: set sslrootcert=<file> in the database URL to the CA that issued the server's certificate`;
      }
      if (code === "CERT_HAS_EXPIRED" || code === "CERT_NOT_YET_VALID")
        return "the server's certificate is outside its validity period: renew the server's certificate";
      if (code === "ERR_TLS_CERT_ALTNAME_INVALID")
        return `the server's certificate does not name ${host}: connect by a name the certificate holds (its subjectAltName), or re-issue it for ${host}`;
      if (err.message === "The server does not support SSL connections")
        return "the server does not offer TLS (ssl = off): turn ssl on in its postgresql.conf, or set sslmode=disable (unencrypted)";
      if (code === "28000" && /no encryption/.test(err.message))
        return "its pg_hba.conf accepts this login over TLS only: set sslmode=verify-full and sslrootcert=<CA file> in the database URL";
      if (code === "28000" && /client certificate/i.test(err.message))
        return "the server wants a client certificate for this login: set sslcert=<file> and sslkey=<file> in the database URL";
      return undefined;
    })();
    if (fix === undefined) return err;
    const explained = new Error(`PostgreSQL at ${where}: ${err.message}: ${fix}`, { cause: err });
    if (code !== undefined) Object.assign(explained, { code });
    return explained;
  };
}

function isLoopback(host: string): boolean {
  return (
    host === "localhost" || host.startsWith("/") || host === "::1" || (isIP(host) === 4 && host.startsWith("127."))
  );
}

/**
 * What is weaker than verify-full about a connection string's transport to a host that is not
 * this one (for a warning at start), or undefined. Throws what parsePgTls throws.
 */
export function pgTransportWarning(connectionString: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const { tls } = parsePgTls(connectionString, env);
  const { where, host } = pgTarget(connectionString);
  if (tls.mode === "verify-full" || isLoopback(host)) return undefined;
  const what = {
    disable: "unencrypted: passwords and evidence cross the network in the clear",
    require: "encrypted, but the server is not authenticated: anyone on the path can pose as it",
    "verify-ca": "encrypted to a server with a certificate from the CA, but its name is not checked",
  }[tls.mode];
  return `PostgreSQL at ${where} is ${what}; use sslmode=verify-full with sslrootcert=<CA file> (docs/security.md)`;
}
