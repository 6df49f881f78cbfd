import { sql, type SQL } from "./sql.js";
import { query } from "./atomic.js";
import type { Db } from "./client.js";
import { toNumber } from "./values.js";

/**
 * One page and the total in one round trip. `matching` is a SELECT of the candidate rows; the page
 * is joined LATERALly to the count so an empty page past the end still carries the total.
 * Rows come back with the page's columns plus `total`; a row with a null id is the empty page.
 */
export async function pageWithTotal(db: Db, matching: SQL, order: SQL, pageNumber: number, limit: number) {
  const rows = await query(
    db,
    sql`
    WITH matching AS (${matching})
    SELECT t.total, p.*
    FROM (SELECT count(*) AS total FROM matching) t
    LEFT JOIN LATERAL (SELECT * FROM matching ORDER BY ${order} LIMIT ${limit} OFFSET ${(pageNumber - 1) * limit}) p ON true`,
  );
  return { total: toNumber(rows[0]?.total ?? 0), rows: rows.filter((r) => r.id !== null && r.id !== undefined) };
}
