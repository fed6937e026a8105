// A fresh PostgreSQL database for one benchmark, dropped afterwards.
import { randomBytes } from "node:crypto";
import pg from "pg";

export const DEFAULT_DATABASE_URL = "postgres://aegis:aegis@127.0.0.1:5432/aegis";

export function adminDatabaseUrl(): string {
  return process.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
}

/** Refuses anything but a loopback PostgreSQL: benchmarks never load a remote server. */
export function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (!["127.0.0.1", "localhost", "::1", "[::1]"].includes(host)) {
    throw new Error(`benchmarks only target loopback databases; DATABASE_URL points at ${host}`);
  }
}

export async function withScratchDatabase<T>(
  work: (url: string) => Promise<T>,
  adminUrl = adminDatabaseUrl(),
): Promise<T> {
  assertLoopback(adminUrl);
  const name = `aegis_bench_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    return await work(url.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}
