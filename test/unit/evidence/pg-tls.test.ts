// How AEGIS reads a PostgreSQL URL's TLS parameters (libpq's meaning, not pg-connection-string's),
// what it hands to `pg`, and when it warns at start. The connections themselves are exercised
// against a real server in test/integration/tls/postgres-tls.test.ts.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parsePgTls, pgSslOptions, pgTransportWarning } from "../../../src/evidence/store/pg-database.js";
import { createCertificateAuthority } from "../../../src/tls/certificates.js";

const dir = mkdtempSync(path.join(tmpdir(), "aegis-pg-tls-unit-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const base = "postgres://aegis:pw@db.example:5432/aegis";
const noEnv = {};

describe("parsePgTls", () => {
  it.each([
    ["", "disable"],
    ["?sslmode=disable", "disable"],
    ["?sslmode=require", "require"],
    ["?sslmode=no-verify", "require"],
    ["?sslmode=require&sslrootcert=/ca.crt", "verify-ca"],
    ["?sslmode=verify-ca&sslrootcert=/ca.crt", "verify-ca"],
    ["?sslmode=verify-full", "verify-full"],
    ["?sslmode=verify-full&sslrootcert=system", "verify-full"],
    ["?sslrootcert=/ca.crt", "verify-full"],
    ["?ssl=true", "verify-full"],
    ["?ssl=no-verify", "require"],
    ["?ssl=0", "disable"],
  ])("%s → %s", (query, mode) => {
    expect(parsePgTls(`${base}${query}`, noEnv).tls.mode).toBe(mode);
  });

  it("takes the TLS parameters out of the URL and leaves the others", () => {
    const parsed = parsePgTls(
      `${base}?application_name=x&sslmode=verify-full&sslrootcert=%2Fetc%2Fca.crt&uselibpqcompat=true&options=-c%20a%3Db`,
      noEnv,
    );
    expect(parsed.connectionString).toBe(`${base}?application_name=x&options=-c+a%3Db`);
    expect(parsed.tls).toEqual({ mode: "verify-full", rootCert: "/etc/ca.crt" });
    expect(parsePgTls(`${base}?sslmode=verify-full`, noEnv).connectionString).toBe(base);
  });

  it("reads libpq's PGSSL* variables for what the URL does not give", () => {
    const env = { PGSSLMODE: "verify-full", PGSSLROOTCERT: "/env/ca.crt" };
    expect(parsePgTls(base, env).tls).toEqual({ mode: "verify-full", rootCert: "/env/ca.crt" });
    expect(parsePgTls(`${base}?sslmode=disable`, env).tls.mode).toBe("disable");
  });

  it.each([
    ["?sslmode=prefer", /sslmode=prefer .* not supported: libpq falls back to an unencrypted connection/],
    ["?sslmode=allow", /sslmode=allow .* not supported/],
    ["?sslmode=verify-al", /sslmode=verify-al .* not one of disable, require, verify-ca, verify-full/],
    ["?sslmode=verify-ca", /sslmode=verify-ca needs sslrootcert=<CA file>/],
    ["?sslmode=require&sslrootcert=system", /sslrootcert=system needs sslmode=verify-full/],
    ["?sslmode=verify-full&sslcert=/c.crt", /one of sslcert and sslkey/],
    ["?sslnegotiation=direct", /sslnegotiation=direct needs TLS/],
  ])("refuses %s, naming the fix", (query, message) => {
    expect(() => parsePgTls(`${base}${query}`, noEnv)).toThrow(message);
  });
});

describe("pgSslOptions", () => {
  it("disable: no TLS; require: TLS without checking the server", () => {
    expect(pgSslOptions({ mode: "disable" })).toBe(false);
    expect(pgSslOptions({ mode: "require" })).toEqual({ rejectUnauthorized: false });
  });

  it("verify-full: the CA from sslrootcert, the name checked; verify-ca: the name not checked", async () => {
    const ca = (await createCertificateAuthority("unit-ca")).certPem;
    const file = path.join(dir, "ca.crt");
    writeFileSync(file, ca);
    const full = pgSslOptions({ mode: "verify-full", rootCert: file });
    expect(full).not.toBe(false);
    if (full === false) return;
    expect(full.ca).toBe(ca);
    expect(full.rejectUnauthorized).toBeUndefined();
    expect(full.checkServerIdentity).toBeUndefined();
    const chainOnly = pgSslOptions({ mode: "verify-ca", rootCert: file });
    if (chainOnly === false) throw new Error("verify-ca gave no TLS");
    expect(chainOnly.checkServerIdentity?.("other.example", {} as never)).toBeUndefined();
    // sslrootcert=system: Node's CA store (no `ca`).
    expect(pgSslOptions({ mode: "verify-full", rootCert: "system" })).toEqual({});
  });

  it("stops at once, naming the parameter and file, when sslrootcert is missing or holds no certificate", () => {
    expect(() => pgSslOptions({ mode: "verify-full", rootCert: path.join(dir, "absent.crt") })).toThrow(
      /the database URL's sslrootcert: cannot read .*absent\.crt/,
    );
    const junk = path.join(dir, "junk.crt");
    writeFileSync(junk, "not a certificate");
    expect(() => pgSslOptions({ mode: "verify-full", rootCert: junk })).toThrow(
      /the database URL's sslrootcert: .*junk\.crt holds no PEM certificate/,
    );
  });
});

describe("pgTransportWarning", () => {
  it("warns for anything weaker than verify-full to another host, never for this host", () => {
    expect(pgTransportWarning(base, noEnv)).toMatch(/PostgreSQL at db\.example:5432 is unencrypted/);
    expect(pgTransportWarning(`${base}?sslmode=require`, noEnv)).toMatch(/the server is not authenticated/);
    expect(pgTransportWarning(`${base}?sslmode=verify-full`, noEnv)).toBeUndefined();
    expect(pgTransportWarning("postgres://aegis:pw@127.0.0.1:5432/aegis", noEnv)).toBeUndefined();
    expect(pgTransportWarning("postgres://aegis:pw@localhost/aegis", noEnv)).toBeUndefined();
    expect(pgTransportWarning(base, noEnv)).not.toContain("pw");
  });
});
