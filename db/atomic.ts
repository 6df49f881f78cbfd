import type { Db } from "./client.js";
import type { SQL } from "./sql.js";

export async function query(db: Db, statement: SQL): Promise<Record<string, unknown>[]> {
  return (await db.execute(statement)).rows;
}

/**
 * Runs the statements all-or-nothing in one round trip where the driver allows it: neon-http sends
 * them as one batch (a non-interactive transaction); PGlite and node-postgres run them in a
 * transaction. Business rules must not need to read between statements — use conditional writes,
 * constraints and CTEs.
 */
export async function atomic(db: Db, statements: SQL[]): Promise<Record<string, unknown>[][]> {
  return (await db.atomic(statements)).map((result) => result.rows);
}
