// A Redis server of the test's own that speaks TLS only (--port 0 --tls-port P), with ACL users
// the test gives and the `default` user off, on free loopback ports. Same pattern as
// test/integration/redis/private-redis.ts, which serves plain TCP.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Redis } from "ioredis";
import { freePort } from "./tls-files.js";

export interface PrivateTlsRedisOptions {
  serverCert: string;
  serverKey: string;
  /** The CA the server trusts for client certificates (required by redis-server; not asked for). */
  ca: string;
  /** ACL rules after `user NAME`, e.g. ["on", ">secret", "~aegis:*"], one entry per user. */
  users: Record<string, string[]>;
  /** --bind; default 127.0.0.1. */
  bind?: string[];
}

export interface PrivateTlsRedis {
  readonly port: number;
  /** rediss://USER:PASSWORD@HOST:PORT */
  url(user: string, password: string, host?: string): string;
  remove(): Promise<void>;
}

export async function startPrivateTlsRedis(options: PrivateTlsRedisOptions): Promise<PrivateTlsRedis> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), "aegis-redis-tls-"));
  const file = (name: string, text: string): string => {
    const target = path.join(dir, name);
    writeFileSync(target, text, { mode: 0o600 });
    return target;
  };
  const acl = [
    "user default off",
    ...Object.entries(options.users).map(([name, rules]) => `user ${name} ${rules.join(" ")}`),
  ];
  const args = [
    "--bind",
    ...(options.bind ?? ["127.0.0.1"]),
    "--port",
    "0",
    "--tls-port",
    String(port),
    "--tls-cert-file",
    file("server.crt", options.serverCert),
    "--tls-key-file",
    file("server.key", options.serverKey),
    "--tls-ca-cert-file",
    file("ca.crt", options.ca),
    "--tls-auth-clients",
    "no",
    "--aclfile",
    file("users.acl", `${acl.join("\n")}\n`),
    "--save",
    "",
    "--appendonly",
    "no",
    "--dir",
    dir,
  ];
  const child: ChildProcess = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + 10_000;
  while (!/Ready to accept connections/.test(output)) {
    if (child.exitCode !== null) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`redis-server (TLS) on ${port} exited ${child.exitCode}: ${output.slice(-2000)}`);
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`redis-server (TLS) on ${port} not ready within 10 s: ${output.slice(-2000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    port,
    url: (user, password, host = "127.0.0.1") =>
      `rediss://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${port}`,
    remove: async () => {
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
        child.kill("SIGKILL");
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A one-off client of the test (not AEGIS's code) for checking what the server allows. */
export function adminClient(url: string, ca: string): Redis {
  const client = new Redis(url, { tls: { ca }, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on("error", () => undefined);
  return client;
}
