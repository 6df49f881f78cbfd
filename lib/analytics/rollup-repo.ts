import { sql, type SQL } from "../../db/sql.js";
import { atomic, query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";

// The incremental rollup refresh. Rules:
// - An order belongs to the calendar day of its created_at in its tenant's rollup timezone
//   (tenants.rollup_timezone; DST-correct: AT TIME ZONE with an IANA name). So the (tenant, day)
//   pairs a change can affect are the created_at days of orders whose updated_at moved (every order
//   write — create, edit, status, cancel — sets updated_at = now()).
// - Those days are recomputed from scratch from orders + order_lines (never patched), so running a
//   refresh twice, or over an overlapping window, gives the same rollups.
// - Cancelled orders are not sales; every other status is (an order is a sale when it is booked).
//
// Watermark: a transaction's now() is its START time, so an order written by a transaction still
// running when we look has updated_at earlier than our clock and is invisible to us. Taking
// "now()" as the next watermark would lose it. The next watermark is therefore the earliest start
// of any transaction still open at claim time (pg_stat_activity), and at most now() minus a margin
// (ANALYTICS_WATERMARK_MARGIN_S, default 5 s: a belt for sessions we cannot see). The claim reads that in its own statement BEFORE the refresh
// statement takes its snapshot (READ COMMITTED: one snapshot per statement), so every transaction
// that could write updated_at < bound has committed before the refresh looks, and is seen.
//
// Concurrency: the claim locks the single analytics_state row with FOR UPDATE SKIP LOCKED and
// records its transaction id; the refresh statement does its work only when that id is its own.
// A second concurrent run claims nothing and changes nothing.

/** The current watermark (the refresh passes it back as a bound value so Postgres plans with it). */
export async function readWatermark(db: Db): Promise<string> {
  const rows = await query(db, sql`SELECT watermark::text AS watermark FROM analytics_state WHERE id = 1`);
  if (!rows[0]) throw new Error("analytics_state has no row: run the migrations");
  return String(rows[0].watermark);
}

const claim = (watermark: string, marginSeconds: number) => sql`
  UPDATE analytics_state s
  SET locked_by = pg_current_xact_id()::text,
      run_bound = least(now() - make_interval(secs => ${marginSeconds}::int), coalesce((
        SELECT min(a.xact_start) FROM pg_stat_activity a
        WHERE a.datname = current_database() AND a.pid <> pg_backend_pid() AND a.xact_start IS NOT NULL AND a.backend_type = 'client backend'
      ), 'infinity'))
  WHERE s.id = (SELECT id FROM analytics_state WHERE id = 1 AND watermark = ${watermark}::timestamptz FOR UPDATE SKIP LOCKED)
  RETURNING s.run_bound`;

/** The order's day: its created_at as a calendar day in `zone`; and the instants that bound a day there. */
const dayOf = (column: string, zone: string) => sql.raw(`(${column} AT TIME ZONE ${zone})::date`);
const dayStart = (day: string, zone: string) => sql.raw(`(${day}::timestamp AT TIME ZONE ${zone})`);
const dayEnd = (day: string, zone: string) => sql.raw(`((${day} + 1)::timestamp AT TIME ZONE ${zone})`);

// Shared by the incremental refresh and the per-tenant rebuild: both read a `sold` CTE (one row per
// live order with its tenant's day) and a `fresh_items` CTE, and write the same two rollup tables.
const freshChannels = sql`fresh_channels AS (
    SELECT tenant_id, day, channel, count(*)::int AS orders, sum(units)::bigint AS units, sum(total_cents)::bigint AS revenue_cents
    FROM sold GROUP BY tenant_id, day, channel
  )`;
const upsertRollups = sql`upserted_channels AS (
    INSERT INTO sales_daily_channels (tenant_id, day, channel, orders, units, revenue_cents, refreshed_at)
    SELECT tenant_id, day, channel, orders, units, revenue_cents, now() FROM fresh_channels
    ON CONFLICT (tenant_id, day, channel) DO UPDATE SET orders = excluded.orders, units = excluded.units, revenue_cents = excluded.revenue_cents, refreshed_at = excluded.refreshed_at
    RETURNING 1
  ),
  upserted_items AS (
    INSERT INTO sales_daily_items (tenant_id, day, item_id, units, revenue_cents, orders, refreshed_at)
    SELECT tenant_id, day, item_id, units, revenue_cents, orders, now() FROM fresh_items
    ON CONFLICT (tenant_id, day, item_id) DO UPDATE SET units = excluded.units, revenue_cents = excluded.revenue_cents, orders = excluded.orders, refreshed_at = excluded.refreshed_at
    RETURNING 1
  )`;

const refresh = (watermark: string): SQL => sql`
  WITH st AS (SELECT run_bound FROM analytics_state WHERE id = 1 AND locked_by = pg_current_xact_id()::text),
  changed AS (SELECT o.tenant_id, o.created_at FROM orders o WHERE o.updated_at >= ${watermark}::timestamptz AND EXISTS (SELECT 1 FROM st)),
  touched AS (
    SELECT DISTINCT c.tenant_id, z.rollup_timezone AS zone, ${dayOf("c.created_at", "z.rollup_timezone")} AS day
    FROM changed c JOIN tenants z ON z.id = c.tenant_id
  ),
  -- The two lookups below are LATERAL with OFFSET 0 so Postgres cannot flatten them into a hash
  -- join: CTE row estimates are guesses, and a hash join would read every order or order line.
  -- Per touched day an index range on (tenant_id, created_at); per sold order an index lookup.
  sold AS (
    SELECT o.id, t.tenant_id, t.day, o.channel, o.units, o.total_cents
    FROM touched t CROSS JOIN LATERAL (
      SELECT o.id, o.channel, o.units, o.total_cents FROM orders o
      WHERE o.tenant_id = t.tenant_id AND o.created_at >= ${dayStart("t.day", "t.zone")} AND o.created_at < ${dayEnd("t.day", "t.zone")} AND o.status <> 'cancelled'
      OFFSET 0
    ) o
  ),
  ${freshChannels},
  fresh_items AS (
    SELECT s.tenant_id, s.day, l.item_id, sum(l.quantity)::bigint AS units, sum(l.quantity::bigint * l.unit_price_cents)::bigint AS revenue_cents, count(DISTINCT s.id)::int AS orders
    FROM sold s CROSS JOIN LATERAL (SELECT l.item_id, l.quantity, l.unit_price_cents FROM order_lines l WHERE l.order_id = s.id OFFSET 0) l
    GROUP BY s.tenant_id, s.day, l.item_id
  ),
  -- Upsert the recomputed rows and delete the touched days' rows that no longer exist: the two
  -- touch disjoint rows, so their order inside the statement does not matter.
  ${upsertRollups},
  emptied_channels AS (
    DELETE FROM sales_daily_channels r USING touched t
    WHERE r.tenant_id = t.tenant_id AND r.day = t.day
      AND NOT EXISTS (SELECT 1 FROM fresh_channels f WHERE f.tenant_id = r.tenant_id AND f.day = r.day AND f.channel = r.channel)
    RETURNING 1
  ),
  emptied_items AS (
    DELETE FROM sales_daily_items r USING touched t
    WHERE r.tenant_id = t.tenant_id AND r.day = t.day
      AND NOT EXISTS (SELECT 1 FROM fresh_items f WHERE f.tenant_id = r.tenant_id AND f.day = r.day AND f.item_id = r.item_id)
    RETURNING 1
  ),
  advanced AS (
    UPDATE analytics_state s SET watermark = st.run_bound, last_run_at = now(),
      last_changed_orders = (SELECT count(*) FROM changed), last_days = (SELECT count(*) FROM touched)
    FROM st WHERE s.id = 1
    RETURNING s.watermark
  )
  SELECT EXISTS (SELECT 1 FROM st) AS claimed,
    (SELECT count(*) FROM changed) AS changed_orders, (SELECT count(*) FROM touched) AS days,
    (SELECT coalesce(json_agg(DISTINCT tenant_id), '[]'::json) FROM touched) AS tenants,
    (SELECT count(*) FROM upserted_channels) + (SELECT count(*) FROM upserted_items) AS rows_written,
    (SELECT count(*) FROM emptied_channels) + (SELECT count(*) FROM emptied_items) AS rows_deleted,
    (SELECT watermark FROM advanced) AS watermark,
    EXISTS (SELECT 1 FROM tenants WHERE rollup_timezone <> timezone) AS rebuild_pending`;

/** Tenants whose timezone changed get their rollups rebuilt, at most this many per refresh run. */
export const REBUILDS_PER_RUN = 2;

/**
 * After the incremental refresh, in a transaction of its own (so a slow rebuild never holds back
 * the other tenants' refresh) that takes the same analytics_state claim: rebuild the rollups of up
 * to REBUILDS_PER_RUN tenants whose timezone changed since their rollups were built, from all
 * their orders, in the new timezone, and record that timezone. Fresh rows are upserted and the
 * tenant's other rows deleted (disjoint rows, one statement), so a reader sees the old or the new
 * rollups, never a mix. Cost: one pass over the tenant's orders (a tenant whose PATCH holds its row
 * lock is skipped until the next run).
 */
const rebuild = sql`
  WITH st AS (SELECT 1 FROM analytics_state WHERE id = 1 AND locked_by = pg_current_xact_id()::text),
  target AS (
    SELECT id, timezone FROM tenants
    WHERE rollup_timezone <> timezone AND EXISTS (SELECT 1 FROM st)
    ORDER BY updated_at, id LIMIT ${REBUILDS_PER_RUN} FOR UPDATE SKIP LOCKED
  ),
  sold AS (
    SELECT o.id, o.tenant_id, ${dayOf("o.created_at", "t.timezone")} AS day, o.channel, o.units, o.total_cents
    FROM target t JOIN orders o ON o.tenant_id = t.id WHERE o.status <> 'cancelled'
  ),
  ${freshChannels},
  fresh_items AS (
    SELECT s.tenant_id, s.day, l.item_id, sum(l.quantity)::bigint AS units, sum(l.quantity::bigint * l.unit_price_cents)::bigint AS revenue_cents, count(DISTINCT s.id)::int AS orders
    FROM sold s JOIN order_lines l ON l.order_id = s.id
    GROUP BY s.tenant_id, s.day, l.item_id
  ),
  ${upsertRollups},
  emptied_channels AS (
    DELETE FROM sales_daily_channels r USING target t
    WHERE r.tenant_id = t.id AND NOT EXISTS (SELECT 1 FROM fresh_channels f WHERE f.tenant_id = r.tenant_id AND f.day = r.day AND f.channel = r.channel)
    RETURNING 1
  ),
  emptied_items AS (
    DELETE FROM sales_daily_items r USING target t
    WHERE r.tenant_id = t.id AND NOT EXISTS (SELECT 1 FROM fresh_items f WHERE f.tenant_id = r.tenant_id AND f.day = r.day AND f.item_id = r.item_id)
    RETURNING 1
  ),
  switched AS (UPDATE tenants x SET rollup_timezone = t.timezone FROM target t WHERE x.id = t.id RETURNING x.id)
  SELECT (SELECT coalesce(json_agg(id), '[]'::json) FROM switched) AS rebuilt,
    (SELECT count(*) FROM upserted_channels) + (SELECT count(*) FROM upserted_items) + (SELECT count(*) FROM emptied_channels) + (SELECT count(*) FROM emptied_items) AS rebuilt_rows`;

// JIT off for the refresh transaction: the planner's cost for this statement grows with table
// statistics (its CTE row estimates do), crossing jit_above_cost at around a million orders, and
// compiling it then took 50-80 ms against about 3 ms of actual work (measured, tests/bench/analytics.ts).
const noJit = sql`SET LOCAL jit = off`;

/** The claim for a rebuild: the analytics_state row, whatever the watermark (no incremental run at once). */
const claimForRebuild = sql`
  UPDATE analytics_state s SET locked_by = pg_current_xact_id()::text
  WHERE s.id = (SELECT id FROM analytics_state WHERE id = 1 FOR UPDATE SKIP LOCKED)
  RETURNING 1`;

/** Rebuilds the rollups of tenants whose timezone changed (see `rebuild`); their ids. */
export async function rebuildChangedTimezones(db: Db): Promise<Record<string, unknown>> {
  const [, , rows] = await atomic(db, [noJit, claimForRebuild, rebuild]);
  return rows![0]!;
}

/** Claim + refresh, all-or-nothing (one batch on neon-http, one transaction elsewhere). */
export async function refreshRollups(db: Db, watermark: string, marginSeconds: number): Promise<Record<string, unknown>> {
  const [, , rows] = await atomic(db, [noJit, claim(watermark, marginSeconds), refresh(watermark)]);
  return rows![0]!;
}
