import type { SQL } from "drizzle-orm/sql/sql";
import type { Db } from "./client.js";

export interface Rows {
  rows: Record<string, unknown>[];
}

export async function query(db: Db, statement: SQL): Promise<Record<string, unknown>[]> {
  const result = (await db.execute(statement)) as unknown as Rows;
  return result.rows;
}

/**
 * Runs the statements all-or-nothing in one round trip where the driver allows it: neon-http sends
 * them as one batch (a non-interactive transaction); PGlite and node-postgres run them in a
 * transaction. Business rules must not need to read between statements — use conditional writes,
 * constraints and CTEs.
 */
export async function atomic(db: Db, statements: SQL[]): Promise<Record<string, unknown>[][]> {
  const batching = db as Db & { batch?: (queries: unknown[]) => Promise<Rows[]> };
  if (typeof batching.batch === "function") {
    const results = await batching.batch(statements.map((s) => db.execute(s)));
    return results.map((r) => r.rows);
  }
  return db.transaction(async (tx) => {
    const results: Record<string, unknown>[][] = [];
    for (const statement of statements) {
      results.push(((await tx.execute(statement)) as unknown as Rows).rows);
    }
    return results;
  });
}
