import { sql, type SQL } from "../../db/sql.js";
import { query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { fromJson, toNumber } from "../../db/values.js";
import { ApiError } from "../http/errors.js";
import { orderJson, toOrder, type Order } from "./json.js";
import type { OrderListInput } from "./schemas.js";
import { dayEndIn, dayStartIn, todayIn } from "../tenants/zone.js";

// Keyset cursors: opaque base64url JSON of the last row's sort key. Ids are UUIDv7, so "newest
// first" is simply id order and a page costs the same at row 10 and row 10 million.
type CursorKey = { s: "created"; id: string } | { s: "delivery"; d: string; id: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DAY = /^(\d{4}-\d{2}-\d{2}|infinity)$/;

function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

function decodeCursor(cursor: string, sort: string): CursorKey {
  const bad = () => new ApiError("bad_request", "Invalid query.", [{ path: "cursor", message: "is not a valid cursor for this sort" }]);
  let key: Record<string, unknown>;
  try {
    key = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw bad();
  }
  if (!key || key.s !== sort || typeof key.id !== "string" || !UUID.test(key.id)) throw bad();
  if (sort === "delivery" && (typeof key.d !== "string" || !DAY.test(key.d))) throw bad();
  return key as CursorKey;
}

const deliveryKey = sql.raw("coalesce(o.expected_delivery_date, 'infinity'::date)");

/** The order list's filters (alias o), shared with the export. */
export function filtersOf(tenantId: string, input: Pick<OrderListInput, "status" | "channel" | "priority" | "customerId" | "from" | "to">): SQL[] {
  const filters = [sql`o.tenant_id = ${tenantId}`];
  const anyOf = (column: string, values: string[]) => sql`${sql.raw(column)} IN (${sql.join(values.map((v) => sql`${v}`), sql`, `)})`;
  if (input.status) filters.push(anyOf("o.status", input.status));
  if (input.channel) filters.push(anyOf("o.channel", input.channel));
  if (input.priority) filters.push(anyOf("o.priority", input.priority));
  if (input.customerId) filters.push(sql`o.customer_id = ${input.customerId}`);
  // Dates are the tenant's calendar days (its timezone), both ends inclusive.
  if (input.from) filters.push(sql`o.created_at >= ${dayStartIn(tenantId, input.from)}`);
  if (input.to) filters.push(sql`o.created_at < ${dayEndIn(tenantId, input.to)}`);
  return filters;
}

export interface OrderPage {
  items: Order[];
  pagination: { limit: number; nextCursor: string | null; page?: number; total?: number; totalPages?: number };
}

/** One statement: the page with lines and customers, plus the total in page mode (keyset mode skips the count). */
export async function listOrders(db: Db, tenantId: string, input: OrderListInput): Promise<OrderPage> {
  const filters = filtersOf(tenantId, input);
  const byDelivery = input.sort === "delivery";
  const order = byDelivery ? sql`${deliveryKey}, o.id` : sql`o.id DESC`;
  const keyset = input.cursor !== undefined;
  if (keyset) {
    const key = decodeCursor(input.cursor!, input.sort);
    filters.push(key.s === "delivery" ? sql`(${deliveryKey}, o.id) > (${key.d}::date, ${key.id}::uuid)` : sql`o.id < ${key.id}`);
  }
  const where = sql.join(filters, sql` AND `);
  const offset = keyset ? 0 : (input.page - 1) * input.limit;
  const total = keyset ? sql`NULL::bigint` : sql`(SELECT count(*) FROM orders o WHERE ${where})`;
  const rows = await query(
    db,
    sql`
    WITH page AS (SELECT o.* FROM orders o WHERE ${where} ORDER BY ${order} LIMIT ${input.limit} OFFSET ${offset})
    SELECT ${total} AS total,
           (SELECT count(*) FROM page) AS n,
           (SELECT json_agg(${orderJson("p")} ORDER BY ${byDelivery ? sql.raw("coalesce(p.expected_delivery_date, 'infinity'::date), p.id") : sql.raw("p.id DESC")}) FROM page p) AS items,
           (SELECT json_build_object('id', l.id, 'd', coalesce(l.expected_delivery_date, 'infinity'::date)::text)
              FROM page l ORDER BY ${byDelivery ? sql.raw("coalesce(l.expected_delivery_date, 'infinity'::date) DESC, l.id DESC") : sql.raw("l.id")} LIMIT 1) AS last`,
  );
  const row = rows[0]!;
  const items = (fromJson<unknown[] | null>(row.items) ?? []).map(toOrder);
  const last = fromJson<{ id: string; d: string } | null>(row.last);
  const full = toNumber(row.n) === input.limit;
  const nextCursor = last && full ? encodeCursor(byDelivery ? { s: "delivery", d: last.d, id: last.id } : { s: "created", id: last.id }) : null;
  if (keyset) return { items, pagination: { limit: input.limit, nextCursor } };
  const count = toNumber(row.total);
  return { items, pagination: { page: input.page, limit: input.limit, total: count, totalPages: Math.ceil(count / input.limit), nextCursor } };
}

/** Orders per page of the full export, and the most order JSON one database reply may carry. */
export const EXPORT_PAGE_ORDERS = 500;
export const EXPORT_PAGE_BYTES = 1024 * 1024;

export interface OrderPages {
  /** The first page, read before anything is sent: its failure is still an ordinary error status. */
  first: Order[];
  /** The next page, or null after the last. Each call is one round trip. */
  next(): Promise<Order[] | null>;
}

/**
 * Every order of the tenant, newest first, in keyset pages: each reply holds at most
 * EXPORT_PAGE_ORDERS orders and — past the first order — at most EXPORT_PAGE_BYTES of JSON (an
 * order can carry 100 lines), so no reply nears Neon's 10 MiB limit and memory holds one page.
 */
export async function allOrders(db: Db, tenantId: string): Promise<OrderPages> {
  let page = await exportPage(db, tenantId, null);
  return {
    first: page.orders,
    async next() {
      if (!page.more) return null;
      page = await exportPage(db, tenantId, page.orders.at(-1)!.id);
      return page.orders;
    },
  };
}

async function exportPage(db: Db, tenantId: string, after: string | null): Promise<{ orders: Order[]; more: boolean }> {
  return sizedOrderPage(db, [sql`o.tenant_id = ${tenantId}`], after);
}

/**
 * One page of the orders matching `filters`, newest first, after order id `after`: candidates are one
 * index range; their JSON is sized in SQL and only what fits EXPORT_PAGE_BYTES comes back (always at
 * least one order), with how many candidates there were to tell if more follow. /api/orders/all and
 * /api/orders/export read their pages through it.
 */
export async function sizedOrderPage(db: Db, filters: SQL[], after: string | null): Promise<{ orders: Order[]; more: boolean }> {
  const where = after ? [...filters, sql`o.id < ${after}`] : filters;
  const rows = await query(
    db,
    sql`WITH candidates AS (
          SELECT o.id, ${orderJson("o")}::text AS doc FROM orders o
          WHERE ${sql.join(where, sql` AND `)}
          ORDER BY o.id DESC LIMIT ${EXPORT_PAGE_ORDERS + 1}),
        sized AS (
          SELECT doc, row_number() OVER w AS rn, sum(octet_length(doc)) OVER w AS upto, count(*) OVER () AS candidates
          FROM candidates WINDOW w AS (ORDER BY id DESC ROWS UNBOUNDED PRECEDING))
        SELECT doc, candidates FROM sized
        WHERE rn <= ${EXPORT_PAGE_ORDERS} AND (rn = 1 OR upto <= ${EXPORT_PAGE_BYTES})
        ORDER BY rn`,
  );
  const orders = rows.map((r) => toOrder(r.doc));
  return { orders, more: rows.length > 0 && orders.length < toNumber(rows[0]!.candidates) };
}

export const PRIORITY_LIMIT = 100;

/**
 * Open orders due soonest: overdue first (they have the earliest dates), then by date, then by
 * priority (urgent first), then oldest first. Orders without a date come last.
 */
export async function priorityOrders(db: Db, tenantId: string): Promise<(Order & { overdue: boolean })[]> {
  const rows = await query(
    db,
    sql`SELECT ${orderJson("o")} AS order, (o.expected_delivery_date < ${todayIn(tenantId)}) AS overdue
        FROM orders o
        WHERE o.tenant_id = ${tenantId} AND o.status IN ('pending', 'confirmed', 'preparing', 'ready')
        ORDER BY ${deliveryKey}, CASE o.priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END, o.id
        LIMIT ${PRIORITY_LIMIT}`,
  );
  return rows.map((r) => ({ ...toOrder(r.order), overdue: r.overdue === true }));
}
