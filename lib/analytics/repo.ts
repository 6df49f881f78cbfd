import { sql } from "../../db/sql.js";
import { query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { fromJson, toIsoOrNull, toNumber } from "../../db/values.js";

// Analytics reads: each is ONE statement over the rollups (sales_daily_*), plus small live lookups
// (items, open-order counts) that indexes answer. None reads the orders history. `today` is a UTC
// calendar day computed by the caller (in the tenant's timezone), so every query in a request agrees
// on it. Rollup days are days in the tenant's rollup timezone; `rebuilding` is true while they are
// still in a previous timezone (see rollup-repo.ts, rebuild).

const refreshedAt = sql`(SELECT last_run_at FROM analytics_state WHERE id = 1)`;
const rebuildingOf = (tenantId: string) => sql`coalesce((SELECT rollup_timezone <> timezone FROM tenants WHERE id = ${tenantId}), false)`;
const yes = (value: unknown) => value === true || value === "t";

export interface SalesBucket {
  period: string;
  orders: number;
  units: number;
  revenueCents: number;
}

/** Sales per day/week/month bucket in [from, to] (every bucket present, zeros included). */
export async function salesBuckets(db: Db, tenantId: string, from: string, to: string, unit: "day" | "week" | "month", channel: string | undefined) {
  const u = sql.raw(`'${unit}'`);
  const rows = await query(
    db,
    sql`
    WITH buckets AS (
      SELECT b::date AS period FROM generate_series(date_trunc(${u}, ${from}::date)::date, ${to}::date, ${`1 ${unit}`}::interval) b
    ),
    agg AS (
      SELECT date_trunc(${u}, day)::date AS period, sum(orders) AS orders, sum(units) AS units, sum(revenue_cents) AS revenue_cents
      FROM sales_daily_channels
      WHERE tenant_id = ${tenantId} AND day BETWEEN ${from}::date AND ${to}::date ${channel ? sql`AND channel = ${channel}` : sql``}
      GROUP BY 1
    )
    SELECT ${refreshedAt} AS refreshed_at, ${rebuildingOf(tenantId)} AS rebuilding,
      (SELECT json_agg(json_build_object('period', b.period, 'orders', coalesce(a.orders, 0), 'units', coalesce(a.units, 0), 'revenueCents', coalesce(a.revenue_cents, 0)) ORDER BY b.period)
       FROM buckets b LEFT JOIN agg a ON a.period = b.period) AS buckets`,
  );
  const row = rows[0]!;
  const buckets = (fromJson<Record<string, unknown>[] | null>(row.buckets) ?? []).map(
    (b): SalesBucket => ({ period: String(b.period), orders: toNumber(b.orders), units: toNumber(b.units), revenueCents: toNumber(b.revenueCents) }),
  );
  return { buckets, refreshedAt: toIsoOrNull(row.refreshed_at), rebuilding: yes(row.rebuilding) };
}

export const TOP_ITEMS = 5;
export const OPEN_STATUSES = ["pending", "confirmed", "preparing", "ready"] as const;

/** Revenue and orders for today, 7 and 30 days and the periods before them; top items; live counts. */
export async function dashboard(db: Db, tenantId: string, today: string) {
  const d = sql`${today}::date`;
  const window = (name: string, from: number, to: number) =>
    sql`coalesce(sum(revenue_cents) FILTER (WHERE day > ${d} - ${from}::int AND day <= ${d} - ${to}::int), 0) AS ${sql.raw(`${name}_revenue`)},
        coalesce(sum(orders) FILTER (WHERE day > ${d} - ${from}::int AND day <= ${d} - ${to}::int), 0) AS ${sql.raw(`${name}_orders`)}`;
  const rows = await query(
    db,
    sql`
    WITH periods AS (
      SELECT ${window("today", 1, 0)}, ${window("yesterday", 2, 1)}, ${window("last7", 7, 0)}, ${window("prev7", 14, 7)},
             ${window("last30", 30, 0)}, ${window("prev30", 60, 30)}
      FROM sales_daily_channels WHERE tenant_id = ${tenantId} AND day > ${d} - 60 AND day <= ${d}
    ),
    top AS (
      SELECT s.item_id, sum(s.units) AS units, sum(s.revenue_cents) AS revenue_cents
      FROM sales_daily_items s WHERE s.tenant_id = ${tenantId} AND s.day > ${d} - 30 AND s.day <= ${d}
      GROUP BY s.item_id ORDER BY sum(s.revenue_cents) DESC, s.item_id LIMIT ${TOP_ITEMS}
    ),
    open AS (
      SELECT status, count(*) AS n FROM orders
      WHERE tenant_id = ${tenantId} AND status IN (${sql.join(OPEN_STATUSES.map((s) => sql`${s}`), sql`, `)})
      GROUP BY status
    )
    SELECT (SELECT row_to_json(p) FROM periods p) AS periods,
      (SELECT json_agg(json_build_object('itemId', t.item_id, 'name', i.name, 'sku', i.sku, 'units', t.units, 'revenueCents', t.revenue_cents) ORDER BY t.revenue_cents DESC, t.item_id)
       FROM top t JOIN items i ON i.id = t.item_id) AS top_items,
      (SELECT json_object_agg(status, n) FROM open) AS open_orders,
      (SELECT count(*) FROM items WHERE tenant_id = ${tenantId} AND deleted_at IS NULL AND stock <= low_stock_threshold) AS low_stock,
      ${refreshedAt} AS refreshed_at, ${rebuildingOf(tenantId)} AS rebuilding`,
  );
  const row = rows[0]!;
  const periods = fromJson<Record<string, unknown>>(row.periods);
  const topItems = (fromJson<Record<string, unknown>[] | null>(row.top_items) ?? []).map((t) => ({
    itemId: String(t.itemId),
    name: String(t.name),
    sku: (t.sku as string | null) ?? null,
    units: toNumber(t.units),
    revenueCents: toNumber(t.revenueCents),
  }));
  const open = fromJson<Record<string, unknown> | null>(row.open_orders) ?? {};
  return {
    period: (name: string) => ({ revenueCents: toNumber(periods[`${name}_revenue`]), orders: toNumber(periods[`${name}_orders`]) }),
    topItems,
    openOrders: Object.fromEntries(OPEN_STATUSES.map((s) => [s, toNumber(open[s] ?? 0)])),
    lowStockCount: toNumber(row.low_stock),
    refreshedAt: toIsoOrNull(row.refreshed_at),
    rebuilding: yes(row.rebuilding),
  };
}

export const INVENTORY_CAP = 5000;

export interface InventoryRow {
  itemId: string;
  name: string;
  sku: string | null;
  stock: number;
  priceCents: number;
  lowStockThreshold: number;
  unitsSold: number;
  revenueCents: number;
}

/** Live items with their units sold over the `days` days ending today. */
export async function inventory(db: Db, tenantId: string, today: string, days: number) {
  const rows = await query(
    db,
    sql`
    WITH sold AS (
      SELECT item_id, sum(units) AS units, sum(revenue_cents) AS revenue_cents FROM sales_daily_items
      WHERE tenant_id = ${tenantId} AND day > ${today}::date - ${days}::int AND day <= ${today}::date
      GROUP BY item_id
    )
    SELECT i.id, i.name, i.sku, i.stock, i.price_cents, i.low_stock_threshold, coalesce(s.units, 0) AS units, coalesce(s.revenue_cents, 0) AS revenue_cents,
           ${refreshedAt} AS refreshed_at, ${rebuildingOf(tenantId)} AS rebuilding
    FROM items i LEFT JOIN sold s ON s.item_id = i.id
    WHERE i.tenant_id = ${tenantId} AND i.deleted_at IS NULL
    ORDER BY i.name, i.id LIMIT ${INVENTORY_CAP + 1}`,
  );
  const items = rows.slice(0, INVENTORY_CAP).map(
    (r): InventoryRow => ({
      itemId: String(r.id),
      name: String(r.name),
      sku: (r.sku as string | null) ?? null,
      stock: toNumber(r.stock),
      priceCents: toNumber(r.price_cents),
      lowStockThreshold: toNumber(r.low_stock_threshold),
      unitsSold: toNumber(r.units),
      revenueCents: toNumber(r.revenue_cents),
    }),
  );
  return { items, truncated: rows.length > INVENTORY_CAP, refreshedAt: toIsoOrNull(rows[0]?.refreshed_at), rebuilding: yes(rows[0]?.rebuilding) };
}

/**
 * Live items that sold in the window and whose stock lasts at most their lead time at that rate:
 * stock / (units / window) <= lead, compared as stock * window <= units * lead (exact integers).
 * The lead time is the preferred supplier's (the link's own, else the supplier's default), else
 * `leadTimeDays`; the preferred supplier's unit cost and minimum order come along.
 */
export async function reorderCandidates(db: Db, tenantId: string, today: string, windowDays: number, leadTimeDays: number) {
  const rows = await query(
    db,
    sql`
    WITH sold AS (
      SELECT item_id, sum(units) AS units FROM sales_daily_items
      WHERE tenant_id = ${tenantId} AND day > ${today}::date - ${windowDays}::int AND day <= ${today}::date
      GROUP BY item_id
    ),
    candidates AS (
      SELECT i.id, i.name, i.sku, i.stock, s.units, p.supplier_id, p.supplier_name, p.unit_cost_cents, p.min_order_quantity,
             coalesce(p.lead_time_days, ${leadTimeDays}::int) AS lead_time_days, p.lead_time_days IS NOT NULL AS supplier_lead
      FROM sold s JOIN items i ON i.id = s.item_id AND i.tenant_id = ${tenantId} AND i.deleted_at IS NULL
      LEFT JOIN LATERAL (
        SELECT l.supplier_id, su.name AS supplier_name, l.unit_cost_cents, l.min_order_quantity, coalesce(l.lead_time_days, su.lead_time_days) AS lead_time_days
        FROM item_suppliers l JOIN suppliers su ON su.id = l.supplier_id AND su.deleted_at IS NULL
        WHERE l.tenant_id = ${tenantId} AND l.item_id = i.id AND l.preferred
      ) p ON true
      WHERE s.units > 0
    )
    SELECT * FROM candidates c WHERE c.stock::bigint * ${windowDays}::int <= c.units * c.lead_time_days`,
  );
  return rows.map((r) => ({
    itemId: String(r.id),
    name: String(r.name),
    sku: (r.sku as string | null) ?? null,
    stock: toNumber(r.stock),
    unitsSold: toNumber(r.units),
    leadTimeDays: toNumber(r.lead_time_days),
    supplier:
      r.supplier_id === null || r.supplier_id === undefined
        ? null
        : { supplierId: String(r.supplier_id), name: String(r.supplier_name), unitCostCents: toNumber(r.unit_cost_cents), minOrderQuantity: toNumber(r.min_order_quantity), leadTimeFromSupplier: yes(r.supplier_lead) },
  }));
}

/** A live item and its units per day over [since, today) from the rollups (days without sales absent). */
export async function itemHistory(db: Db, tenantId: string, itemId: string, since: string, today: string) {
  const rows = await query(
    db,
    sql`
    WITH it AS (SELECT id, name, sku, stock, (created_at AT TIME ZONE coalesce((SELECT rollup_timezone FROM tenants WHERE id = ${tenantId}), 'UTC'))::date AS first_day FROM items WHERE tenant_id = ${tenantId} AND id = ${itemId} AND deleted_at IS NULL)
    SELECT (SELECT row_to_json(it) FROM it) AS item,
      (SELECT json_agg(json_build_object('day', s.day, 'units', s.units) ORDER BY s.day) FROM sales_daily_items s
       WHERE s.tenant_id = ${tenantId} AND s.item_id = ${itemId} AND s.day >= ${since}::date AND s.day < ${today}::date AND EXISTS (SELECT 1 FROM it)) AS history,
      ${refreshedAt} AS refreshed_at, ${rebuildingOf(tenantId)} AS rebuilding`,
  );
  const row = rows[0]!;
  const item = fromJson<Record<string, unknown> | null>(row.item);
  if (!item) return undefined;
  const sales = new Map((fromJson<{ day: string; units: unknown }[] | null>(row.history) ?? []).map((h) => [String(h.day), toNumber(h.units)]));
  return {
    item: { itemId: String(item.id), name: String(item.name), sku: (item.sku as string | null) ?? null, stock: toNumber(item.stock), firstDay: String(item.first_day) },
    sales,
    refreshedAt: toIsoOrNull(row.refreshed_at),
    rebuilding: yes(row.rebuilding),
  };
}
