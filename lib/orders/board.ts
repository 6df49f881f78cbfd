import { sql } from "../../db/sql.js";
import { query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { fromJson, toNumber } from "../../db/values.js";
import { headCursor } from "../events/repo.js";
import { orderJson, toOrder, type Order } from "./json.js";

// GET /api/orders/board: open orders by status plus the cursor of the newest event, read in ONE
// statement so both come from the same snapshot. A client renders the board, then subscribes to
// /api/events/stream with `after=<cursor>`: every change made after the board was read arrives as
// an event, and a change the board already shows may arrive once more (apply events by order
// version: a version not newer than the card's is already on the board). Nothing is missed.

export const OPEN_STATUSES = ["pending", "confirmed", "preparing", "ready"] as const;
/** Cards per column; `counts` still gives every column's full size. */
export const BOARD_COLUMN_LIMIT = 200;

export interface Board {
  columns: Record<(typeof OPEN_STATUSES)[number], Order[]>;
  counts: Record<(typeof OPEN_STATUSES)[number], number>;
  cursor: string;
}

export async function readBoard(db: Db, tenantId: string): Promise<Board> {
  const statuses = sql.join(OPEN_STATUSES.map((s) => sql`${s}`), sql`, `);
  const rows = await query(
    db,
    sql`
    WITH open AS (
      SELECT o.*, row_number() OVER (PARTITION BY o.status ORDER BY o.created_at, o.id) AS place
      FROM orders o WHERE o.tenant_id = ${tenantId} AND o.status IN (${statuses})
    )
    SELECT (${headCursor(tenantId)}) AS cursor,
      (SELECT json_object_agg(status, n) FROM (SELECT status, count(*) AS n FROM open GROUP BY status) c) AS counts,
      (SELECT json_agg(${orderJson("o")} ORDER BY o.created_at, o.id) FROM open o WHERE o.place <= ${BOARD_COLUMN_LIMIT}) AS orders`,
  );
  const row = rows[0]!;
  const counts = fromJson<Record<string, unknown> | null>(row.counts) ?? {};
  const orders = (fromJson<unknown[] | null>(row.orders) ?? []).map(toOrder);
  const board: Board = { columns: { pending: [], confirmed: [], preparing: [], ready: [] }, counts: { pending: 0, confirmed: 0, preparing: 0, ready: 0 }, cursor: String(row.cursor) };
  for (const status of OPEN_STATUSES) board.counts[status] = toNumber(counts[status] ?? 0);
  for (const order of orders) board.columns[order.status as (typeof OPEN_STATUSES)[number]].push(order);
  return board;
}
