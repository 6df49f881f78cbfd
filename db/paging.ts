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

/**
 * A row's place in a (created_at, id) keyset. `at` is created_at as Postgres prints it: a JS Date
 * would drop its microseconds, and the next page would then repeat or skip rows.
 */
export interface CreatedKey {
  at: string;
  id: string;
}

/**
 * Oldest-first keyset pages on (created_at, id) of the rows aliased `alias`, `size` a page. A page's
 * statement selects `key`, filters with `after(last)` past the page before, and ends with
 * `orderAndLimit`, which reads one row more than a page: that row is not kept, it only tells that
 * more follow (no count). `page` trims the rows to the page and names its last key.
 */
export function createdKeyset(alias: string, size: number) {
  const t = sql.raw(alias);
  return {
    key: sql`${t}.created_at::text AS key_at`,
    after: (last: CreatedKey) => sql`(${t}.created_at, ${t}.id) > (${last.at}::timestamptz, ${last.id}::uuid)`,
    orderAndLimit: sql`ORDER BY ${t}.created_at, ${t}.id LIMIT ${size + 1}`,
    page<T>(rows: Record<string, unknown>[], toRow: (row: Record<string, unknown>) => T): { rows: T[]; more: boolean; last: CreatedKey | null } {
      const more = rows.length > size;
      const kept = more ? rows.slice(0, size) : rows;
      const last = kept.at(-1);
      return { rows: kept.map(toRow), more, last: last ? { at: String(last.key_at), id: String(last.id) } : null };
    },
  };
}
