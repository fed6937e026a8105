// SqlDatabase over a `pg` connection pool (DATABASE_URL).
import pg from "pg";
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
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 4,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 3_000,
    query_timeout: options.queryTimeoutMs ?? 30_000,
    idleTimeoutMillis: 30_000,
    keepAlive: true,
    application_name: "aegis-evidence",
  });
  pool.on("error", options.onIdleClientError);
  return new PgDatabase(pool);
}

class PgDatabase implements SqlDatabase {
  readonly backend = "postgres";
  readonly supportsRoles = true;

  constructor(private readonly pool: pg.Pool) {}

  async query(text: string, params: readonly unknown[] = []): Promise<{ rows: SqlRow[] }> {
    const result = await this.pool.query<SqlRow>(text, [...params]);
    return { rows: result.rows };
  }

  async exec(script: string): Promise<void> {
    await this.pool.query(script);
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
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
