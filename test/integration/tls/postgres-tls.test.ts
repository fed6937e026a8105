// The evidence database over TLS, against a real PostgreSQL of this file's own: ssl = on and a
// pg_hba.conf with `hostssl` lines only, so a plain connection has no way in. AEGIS reads the
// URL's sslmode/sslrootcert/sslcert/sslkey with libpq's meaning (src/evidence/store/pg-database.ts).
import { copyFileSync } from "node:fs";
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createPgDatabase } from "../../../src/evidence/store/pg-database.js";
import { isConnectionError, type SqlDatabase } from "../../../src/evidence/store/sql-database.js";
import { startPrivatePostgres, type PrivatePostgres } from "./private-postgres.js";
import {
  createCertificateAuthority,
  issueClientCertificate,
  serverCertificate,
  tlsFiles,
  type TlsFiles,
} from "./tls-files.js";

let server: PrivatePostgres;
let files: TlsFiles;
const paths = { ca: "", otherCa: "", clientCert: "", clientKey: "" };
const opened: SqlDatabase[] = [];

function database(connectionString: string): SqlDatabase {
  const db = createPgDatabase({ connectionString, connectTimeoutMs: 5_000, onIdleClientError: () => undefined });
  opened.push(db);
  return db;
}

/** Whether this session is encrypted, as the server sees it. */
async function sessionTls(db: SqlDatabase): Promise<{ ssl: boolean; user: string }> {
  const { rows } = await db.query("SELECT ssl, current_user AS user FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
  return rows[0] as { ssl: boolean; user: string };
}

async function failure(db: SqlDatabase): Promise<Error & { code?: string; cause?: unknown }> {
  try {
    await db.query("SELECT 1");
  } catch (error) {
    return error as Error & { code?: string };
  }
  throw new Error("the query succeeded; expected the connection to be refused");
}

beforeAll(async () => {
  files = tlsFiles("pg-tls");
  // The server's certificate names localhost and 127.0.0.1, not 127.0.0.2 (where it listens too).
  const issued = await serverCertificate(["localhost", "127.0.0.1"], "aegis-test-postgres-ca");
  const other = await createCertificateAuthority("some-other-ca");
  const clientCa = await createCertificateAuthority("aegis-test-postgres-client-ca");
  const client = await issueClientCertificate(clientCa, "certclient");
  paths.ca = files.write("ca.crt", issued.ca.certPem);
  paths.otherCa = files.write("other-ca.crt", other.certPem);
  paths.clientCert = files.write("client.crt", client.certPem);
  paths.clientKey = files.write("client.key", client.keyPem);
  server = await startPrivatePostgres({
    serverCert: issued.certPem,
    serverKey: issued.keyPem,
    clientCa: clientCa.certPem,
    listen: ["127.0.0.1", "127.0.0.2"],
    roles: ["certclient"],
    hba: ["hostssl all certclient 127.0.0.0/8 cert", "hostssl all aegis 127.0.0.0/8 scram-sha-256"],
  });
}, 120_000);

afterEach(async () => {
  await Promise.all(opened.splice(0).map((db) => db.close().catch(() => undefined)));
});

afterAll(async () => {
  await server?.stop();
  files?.remove();
});

describe("PostgreSQL with sslmode=verify-full", () => {
  it("connects encrypted when the server's certificate chains to sslrootcert and names the host", async () => {
    const byAddress = database(server.url({ sslmode: "verify-full", sslrootcert: paths.ca }));
    expect(await sessionTls(byAddress)).toEqual({ ssl: true, user: "aegis" });
    const byName = database(server.url({ sslmode: "verify-full", sslrootcert: paths.ca }, { host: "localhost" }));
    expect(await sessionTls(byName)).toEqual({ ssl: true, user: "aegis" });
  });

  it("refuses a server whose certificate another CA issued, naming sslrootcert as the fix", async () => {
    const error = await failure(database(server.url({ sslmode: "verify-full", sslrootcert: paths.otherCa })));
    expect(error.message).toContain(`PostgreSQL at 127.0.0.1:${server.port}`);
    expect(error.message).toContain(`is not signed by the CA in sslrootcert=${paths.otherCa}`);
    expect(error.message).toContain("set sslrootcert=<file> in the database URL");
    expect(error.code).toBe("UNABLE_TO_VERIFY_LEAF_SIGNATURE");
    // A misconfiguration, not an outage: start-up stops on it instead of spooling (wiring/ledger.ts).
    expect(isConnectionError(error)).toBe(false);
  });

  it("refuses a certificate that does not name the host connected to; verify-ca accepts it", async () => {
    const error = await failure(
      database(server.url({ sslmode: "verify-full", sslrootcert: paths.ca }, { host: "127.0.0.2" })),
    );
    expect(error.message).toContain("the server's certificate does not name 127.0.0.2");
    expect(error.code).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
    const chainOnly = database(server.url({ sslmode: "verify-ca", sslrootcert: paths.ca }, { host: "127.0.0.2" }));
    expect((await sessionTls(chainOnly)).ssl).toBe(true);
  });

  it("uses a rotated sslrootcert file for the next connection, without a new pool", async () => {
    const rotating = files.write("rotating-ca.crt", "");
    copyFileSync(paths.otherCa, rotating);
    const db = database(server.url({ sslmode: "verify-full", sslrootcert: rotating }));
    expect((await failure(db)).message).toContain("is not signed by the CA in sslrootcert=");
    copyFileSync(paths.ca, rotating);
    expect((await sessionTls(db)).ssl).toBe(true);
  });

  it("logs in with a client certificate (sslcert, sslkey) where pg_hba.conf says `cert`", async () => {
    const db = database(
      server.url(
        { sslmode: "verify-full", sslrootcert: paths.ca, sslcert: paths.clientCert, sslkey: paths.clientKey },
        { user: "certclient" },
      ),
    );
    expect(await sessionTls(db)).toEqual({ ssl: true, user: "certclient" });
    const without = await failure(
      database(server.url({ sslmode: "verify-full", sslrootcert: paths.ca }, { user: "certclient" })),
    );
    expect(without.message).toContain("set sslcert=<file> and sslkey=<file> in the database URL");
  });
});

describe("PostgreSQL without TLS where pg_hba.conf has hostssl only", () => {
  it("refuses sslmode=disable (and no sslmode), and the error says to set sslmode=verify-full", async () => {
    for (const params of [{ sslmode: "disable" }, {}]) {
      const error = await failure(database(server.url(params)));
      expect(error.message).toContain("no encryption");
      expect(error.message).toContain("set sslmode=verify-full and sslrootcert=<CA file> in the database URL");
      expect(error.code).toBe("28000");
    }
  });
});

describe("sslmode=require, as libpq means it", () => {
  it("encrypts without authenticating the server when no sslrootcert is given", async () => {
    expect((await sessionTls(database(server.url({ sslmode: "require" })))).ssl).toBe(true);
  });

  it("checks the chain (verify-ca) when sslrootcert is given", async () => {
    const error = await failure(database(server.url({ sslmode: "require", sslrootcert: paths.otherCa })));
    expect(error.message).toContain("is not signed by the CA in sslrootcert=");
  });

  it("is not what node-postgres alone makes of the same URL: pg 8 verifies require against the system CAs", async () => {
    // Why AEGIS reads the TLS parameters itself. If this starts passing, pg adopted libpq's
    // meaning (announced for pg 9) and parsePgTls may be simplified.
    const client = new pg.Client({
      connectionString: server.url({ sslmode: "require" }),
      connectionTimeoutMillis: 5_000,
    });
    client.on("error", () => undefined);
    await expect(client.connect()).rejects.toThrow(/certificate/);
    await client.end().catch(() => undefined);
  });
});
