import { sql, type SQL } from "../../db/sql.js";
import { query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { fromJson, toNumber } from "../../db/values.js";
import { OPEN_STATUSES } from "../orders/board.js";

// Business and health gauges for GET /api/metrics, read at scrape time in ONE statement: each gauge
// is a scalar subquery in the select list below, so adding one is adding a line there. Across all
// live tenants (a soft-deleted tenant awaiting purge is not counted); no tenant label, so the series
// count does not grow with the customer base.
//
// Replica lag is not here: this statement runs on the primary; /api/health measures each replica.

const liveTenant = (alias: string) => sql.raw(`EXISTS (SELECT 1 FROM tenants t WHERE t.id = ${alias}.tenant_id AND t.deleted_at IS NULL)`);

const GAUGE_COLUMNS: Record<string, SQL> = {
  open_orders: sql`(SELECT coalesce(json_object_agg(status, n), '{}'::json) FROM (
      SELECT o.status, count(*) AS n FROM orders o
      WHERE o.status IN (${sql.join(OPEN_STATUSES.map((s) => sql`${s}`), sql`, `)}) AND ${liveTenant("o")}
      GROUP BY o.status) s)`,
  low_stock_items: sql`(SELECT count(*) FROM items i WHERE i.deleted_at IS NULL AND i.stock <= i.low_stock_threshold AND ${liveTenant("i")})`,
  analytics_refresh_age_s: sql`(SELECT extract(epoch FROM now() - last_run_at)::float8 FROM analytics_state WHERE id = 1)`,
  blob_deletions_pending: sql`(SELECT count(*) FROM blob_deletions)`,
  // Deliveries not yet delivered nor dead letters: webhooks and connector messages alike.
  delivery_backlog: sql`(SELECT coalesce(json_object_agg(kind, n), '{}'::json) FROM (
      SELECT e.kind, count(*) AS n FROM deliveries d JOIN delivery_endpoints e ON e.id = d.endpoint_id
      WHERE d.status IN ('pending', 'sending') AND ${liveTenant("d")} GROUP BY e.kind) s)`,
  // Pay-later checkouts holding stock: within their reservation, and past it but not yet released
  // (the expiry sweep runs every minute; a growing overdue count means it is not running).
  reservations: sql`(SELECT json_build_object(
      'active', count(*) FILTER (WHERE o.reserved_until > now()),
      'units', coalesce(sum(o.units) FILTER (WHERE o.reserved_until > now()), 0),
      'overdue', count(*) FILTER (WHERE o.reserved_until <= now()))
    FROM orders o WHERE o.status = 'pending' AND o.reserved_until IS NOT NULL AND ${liveTenant("o")})`,
  delivery_oldest_pending_age_s: sql`(SELECT extract(epoch FROM now() - min(d.created_at))::float8 FROM deliveries d
      WHERE d.status IN ('pending', 'sending') AND ${liveTenant("d")})`,
};

export interface Gauges {
  openOrders: Record<string, number>;
  lowStockItems: number;
  /** Seconds since the analytics refresh last ran; undefined when it never has. */
  analyticsRefreshAgeS: number | undefined;
  blobDeletionsPending: number;
  /** Deliveries pending or being sent, by endpoint kind (webhook, connector…). */
  deliveryBacklog: Record<string, number>;
  /** Age of the oldest delivery still pending; undefined when none is. */
  deliveryOldestPendingAgeS: number | undefined;
  /** Pending pay-later orders: within their reservation (and the units they hold), and past it, awaiting release. */
  reservations: { active: number; units: number; overdue: number };
}

export async function readGauges(db: Db): Promise<Gauges> {
  const columns = sql.join(Object.entries(GAUGE_COLUMNS).map(([name, expr]) => sql`${expr} AS ${sql.identifier(name)}`), sql`, `);
  const [row] = await query(db, sql`SELECT ${columns}`);
  const open = fromJson<Record<string, unknown>>(row!.open_orders) ?? {};
  return {
    openOrders: Object.fromEntries(OPEN_STATUSES.map((s) => [s, toNumber(open[s] ?? 0)])),
    lowStockItems: toNumber(row!.low_stock_items),
    analyticsRefreshAgeS: row!.analytics_refresh_age_s === null || row!.analytics_refresh_age_s === undefined ? undefined : Number(row!.analytics_refresh_age_s),
    blobDeletionsPending: toNumber(row!.blob_deletions_pending),
    deliveryBacklog: Object.fromEntries(Object.entries(fromJson<Record<string, unknown>>(row!.delivery_backlog) ?? {}).map(([kind, n]) => [kind, toNumber(n)])),
    reservations: (({ active, units, overdue }) => ({ active: toNumber(active), units: toNumber(units), overdue: toNumber(overdue) }))(fromJson<Record<string, unknown>>(row!.reservations)),
    deliveryOldestPendingAgeS: row!.delivery_oldest_pending_age_s === null || row!.delivery_oldest_pending_age_s === undefined ? undefined : Number(row!.delivery_oldest_pending_age_s),
  };
}
