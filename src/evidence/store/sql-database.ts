// The slice of a SQL database the evidence ledger needs, so the same SQL runs on PostgreSQL
// (through `pg`) and on embedded PGlite (DESIGN §4 "Storage").

export type SqlRow = Readonly<Record<string, unknown>>;

export interface SqlExecutor {
  /** One statement, `$n` parameters (extended protocol). */
  query(text: string, params?: readonly unknown[]): Promise<{ rows: SqlRow[] }>;
  /** A script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
}

export interface SqlDatabase extends SqlExecutor {
  readonly backend: "postgres" | "pglite";
  /**
   * False for PGlite: it has one built-in superuser and no other sessions, so an application
   * role with restricted grants would protect nothing; the append-only triggers still apply.
   */
  readonly supportsRoles: boolean;
  /** Runs `work` in BEGIN … COMMIT, rolling back when it throws. `work` must keep no state across calls. */
  transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** The SQLSTATE of a database error, when it has one (`pg` and PGlite both set `code`). */
export function sqlState(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

const NETWORK_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EPIPE",
  "EAI_AGAIN",
]);

/**
 * Whether `err` says the database cannot be reached right now (as opposed to refusing what was
 * asked): socket errors, SQLSTATE class 08 (connection exception), 57P01–57P03 (server shutting
 * down or starting), and `pg`'s own connect timeouts and dropped connections.
 */
export function isConnectionError(err: unknown): boolean {
  if (err instanceof AggregateError) return err.errors.some(isConnectionError);
  const code = sqlState(err);
  if (code !== undefined && (NETWORK_ERROR_CODES.has(code) || code.startsWith("08") || /^57P0[123]$/.test(code)))
    return true;
  const message = err instanceof Error ? err.message : "";
  return /timeout exceeded when trying to connect|Connection terminated|connection error|not queryable|Query read timeout/i.test(
    message,
  );
}
