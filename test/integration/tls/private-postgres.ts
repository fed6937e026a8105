// A PostgreSQL server of the test's own (initdb into a temporary folder, pg_ctl on a free
// loopback port), with TLS on and the pg_hba.conf the test gives: the shared server of
// `npm run services:up` has no TLS and must keep working for the other suites.
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { freePort } from "./tls-files.js";

const BIN = process.env["AEGIS_PG_BIN"] ?? "/usr/lib/postgresql/15/bin";
export const PG_USER = "aegis";
export const PG_PASSWORD = "s3cret-pg-password";
export const PG_DATABASE = "postgres";

export interface PrivatePostgresOptions {
  /** PEM of the server's certificate (chain) and key; ssl = on. */
  serverCert: string;
  serverKey: string;
  /** PEM CA bundle client certificates must chain to (ssl_ca_file), for `cert` lines in pg_hba.conf. */
  clientCa?: string;
  /** pg_hba.conf lines (nothing else is allowed: no `local` trust, no plain `host`). */
  hba: string[];
  /** listen_addresses; default 127.0.0.1. */
  listen?: string[];
  /** Extra roles to create (LOGIN, no password): for certificate logins. */
  roles?: string[];
}

export interface PrivatePostgres {
  readonly port: number;
  /** postgres://aegis:…@HOST:PORT/postgres with `params` as its query. */
  url(params?: Record<string, string>, options?: { host?: string; user?: string }): string;
  stop(): Promise<void>;
}

/** Who initdb and postgres run as: they refuse root, so as root the Debian `postgres` user. */
function serverUser(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
  return { uid, gid };
}

function run(command: string, args: string[], user: { uid: number; gid: number } | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(BIN, command), args, {
      stdio: ["ignore", "pipe", "pipe"],
      ...(user ?? {}),
      env: { ...process.env, LC_ALL: "C.UTF-8" },
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(" ")} exited ${code}: ${output}`)),
    );
  });
}

export async function startPrivatePostgres(options: PrivatePostgresOptions): Promise<PrivatePostgres> {
  const user = serverUser();
  const root = mkdtempSync(path.join(tmpdir(), "aegis-pg-tls-"));
  const data = path.join(root, "data");
  const own = (file: string, mode: number): void => {
    chmodSync(file, mode);
    if (user) chownSync(file, user.uid, user.gid);
  };
  own(root, 0o700);
  const passwordFile = path.join(root, "password");
  writeFileSync(passwordFile, `${PG_PASSWORD}\n`);
  own(passwordFile, 0o600);
  await run(
    "initdb",
    ["-D", data, "-U", PG_USER, `--pwfile=${passwordFile}`, "--auth=scram-sha-256", "-E", "UTF8", "--no-sync"],
    user,
  );
  const port = await freePort();
  const files: Record<string, string> = { "server.crt": options.serverCert, "server.key": options.serverKey };
  if (options.clientCa) files["client-ca.crt"] = options.clientCa;
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(path.join(data, name), text);
    own(path.join(data, name), 0o600);
  }
  const conf = [
    `port = ${port}`,
    `listen_addresses = '${(options.listen ?? ["127.0.0.1"]).join(",")}'`,
    `unix_socket_directories = '${root}'`,
    "ssl = on",
    "ssl_cert_file = 'server.crt'",
    "ssl_key_file = 'server.key'",
    ...(options.clientCa ? ["ssl_ca_file = 'client-ca.crt'"] : []),
    "fsync = off",
    "max_connections = 20",
    "shared_buffers = 16MB",
  ];
  writeFileSync(path.join(data, "postgresql.auto.conf"), `${conf.join("\n")}\n`);
  // Only what the test allows over TCP; `local` (a socket in the 0700 folder) lets the helper create roles.
  writeFileSync(path.join(data, "pg_hba.conf"), `local all ${PG_USER} trust\n${options.hba.join("\n")}\n`);
  for (const name of ["postgresql.auto.conf", "pg_hba.conf"]) own(path.join(data, name), 0o600);
  const log = path.join(root, "server.log");
  try {
    await run("pg_ctl", ["-D", data, "-l", log, "-w", "-t", "30", "start"], user);
    for (const role of options.roles ?? [])
      await run(
        "psql",
        ["-h", root, "-p", String(port), "-U", PG_USER, "-d", PG_DATABASE, "-qc", `CREATE ROLE ${role} LOGIN`],
        user,
      );
  } catch (error) {
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
  return {
    port,
    url: (params = {}, { host = "127.0.0.1", user: login = PG_USER } = {}) => {
      const query = new URLSearchParams(params).toString();
      const credentials = login === PG_USER ? `${PG_USER}:${PG_PASSWORD}` : login;
      return `postgres://${credentials}@${host}:${port}/${PG_DATABASE}${query ? `?${query}` : ""}`;
    },
    stop: async () => {
      await run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"], user).catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    },
  };
}
