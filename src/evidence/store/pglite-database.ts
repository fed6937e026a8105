// SqlDatabase over embedded PGlite persisted in a folder (DATABASE_URL unset, DESIGN §4).
// PGlite is one in-process session: concurrent transactions queue on its internal mutex, and
// only one process may open a folder at a time.
import { PGlite } from "@electric-sql/pglite";
import type { Transaction } from "@electric-sql/pglite";
import type { SqlDatabase, SqlExecutor, SqlRow } from "./sql-database.js";

export async function openPgliteDatabase(directory: string): Promise<SqlDatabase> {
  try {
    return new PgliteDatabase(await PGlite.create(directory));
  } catch (err) {
    throw new Error(`cannot open the embedded database in ${directory}: ${String(err)}`, { cause: err });
  }
}

class PgliteDatabase implements SqlDatabase {
  readonly backend = "pglite";
  readonly supportsRoles = false;

  constructor(private readonly db: PGlite) {}

  async query(text: string, params: readonly unknown[] = []): Promise<{ rows: SqlRow[] }> {
    const result = await this.db.query<SqlRow>(text, [...params]);
    return { rows: result.rows };
  }

  async exec(script: string): Promise<void> {
    await this.db.exec(script);
  }

  async transaction<T>(work: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => work(transactionExecutor(tx)));
  }

  async close(): Promise<void> {
    await this.db.close();
  }
}

function transactionExecutor(tx: Transaction): SqlExecutor {
  return {
    async query(text, params = []) {
      const result = await tx.query<SqlRow>(text, [...params]);
      return { rows: result.rows };
    },
    async exec(script) {
      await tx.exec(script);
    },
  };
}
