import { sql, type SQL } from "../../db/sql.js";
import { atomic, query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { fromJson, toIso, toIsoOrNull, toNumber } from "../../db/values.js";
import { eventsCte, stockLevelEvents, type Actor } from "../events/outbox.js";
import type { StockTakeCreateInput } from "./schemas.js";

// Stock-takes. Starting one snapshots each line's stock (expected); applying moves each item by
// counted − expected — not to `counted` — so units sold (or received) while people counted are not
// undone. Applying is one batch: lock the stock-take, lock its items in id order, then act (the
// acting statement's snapshot, taken after the locks, sees every item's current stock).

export interface StockTakeLine {
  itemId: string;
  /** The lot counted; null: the item's unlotted units (all of its stock when it has no lots). */
  lotId: string | null;
  lotCode: string | null;
  expiresOn: string | null;
  name: string;
  sku: string | null;
  expectedQuantity: number;
  countedQuantity: number;
  variance: number;
  /** The preferred supplier's unit cost; null without one. */
  unitCostCents: number | null;
  varianceValueCents: number | null;
  stockAtApply: number | null;
  /** How far stock moved between the snapshot and the apply (null until applied). */
  movedSinceSnapshot: number | null;
  appliedDelta: number | null;
}

export interface StockTake {
  id: string;
  status: "open" | "applied";
  note: string | null;
  createdAt: string;
  appliedAt: string | null;
  lines: StockTakeLine[];
  totals: { lines: number; varianceUnits: number; varianceValueCents: number; linesWithoutCost: number; movedLines: number };
}

function stockTakeJson(s: string, linesFrom = "stock_take_lines"): SQL {
  return sql.raw(`json_build_object('id', ${s}.id, 'status', ${s}.status, 'note', ${s}.note, 'createdAt', ${s}.created_at, 'appliedAt', ${s}.applied_at,
    'lines', coalesce((SELECT json_agg(json_build_object('itemId', sl.item_id, 'lotId', sl.lot_id,
        'lotCode', (SELECT lc.lot_code FROM lots lc WHERE lc.id = sl.lot_id), 'expiresOn', (SELECT lc.expires_on FROM lots lc WHERE lc.id = sl.lot_id), 'name', si.name, 'sku', si.sku, 'expected', sl.expected_quantity,
        'counted', sl.counted_quantity, 'stockAtApply', sl.stock_at_apply, 'appliedDelta', sl.applied_delta,
        'unitCost', (SELECT sc.unit_cost_cents FROM item_suppliers sc JOIN suppliers ss ON ss.id = sc.supplier_id AND ss.deleted_at IS NULL WHERE sc.item_id = sl.item_id AND sc.preferred))
      ORDER BY sl.position) FROM ${linesFrom} sl JOIN items si ON si.id = sl.item_id WHERE sl.stock_take_id = ${s}.id), '[]'::json))`);
}

const nullable = (v: unknown) => (v === null || v === undefined ? null : toNumber(v));

export function toStockTake(value: unknown): StockTake {
  const s = fromJson(value);
  const lines = (s.lines as Record<string, unknown>[]).map((l): StockTakeLine => {
    const expected = toNumber(l.expected);
    const counted = toNumber(l.counted);
    const unitCost = nullable(l.unitCost);
    const stockAtApply = nullable(l.stockAtApply);
    return {
      itemId: String(l.itemId),
      lotId: (l.lotId as string | null) ?? null,
      lotCode: (l.lotCode as string | null) ?? null,
      expiresOn: (l.expiresOn as string | null) ?? null,
      name: String(l.name),
      sku: (l.sku as string | null) ?? null,
      expectedQuantity: expected,
      countedQuantity: counted,
      variance: counted - expected,
      unitCostCents: unitCost,
      varianceValueCents: unitCost === null ? null : (counted - expected) * unitCost,
      stockAtApply,
      movedSinceSnapshot: stockAtApply === null ? null : stockAtApply - expected,
      appliedDelta: nullable(l.appliedDelta),
    };
  });
  return {
    id: String(s.id),
    status: s.status === "applied" ? "applied" : "open",
    note: (s.note as string | null) ?? null,
    createdAt: toIso(s.createdAt),
    appliedAt: toIsoOrNull(s.appliedAt),
    lines,
    totals: {
      lines: lines.length,
      varianceUnits: lines.reduce((n, l) => n + l.variance, 0),
      varianceValueCents: lines.reduce((n, l) => n + (l.varianceValueCents ?? 0), 0),
      linesWithoutCost: lines.filter((l) => l.unitCostCents === null && l.variance !== 0).length,
      movedLines: lines.filter((l) => (l.movedSinceSnapshot ?? 0) !== 0).length,
    },
  };
}

/** Starts a count: the lines' current stock is the snapshot. Unknown or deleted items raise. */
export async function insertStockTake(db: Db, tenantId: string, id: string, userId: string, input: StockTakeCreateInput): Promise<StockTake> {
  const t = tenantId;
  const lines = JSON.stringify(input.lines.map((l, position) => ({ item_id: l.itemId, lot_id: l.lotId ?? null, counted: l.countedQuantity, position })));
  const rows = await query(
    db,
    sql`
    WITH input AS (SELECT * FROM jsonb_to_recordset(${lines}::jsonb) AS x(item_id uuid, lot_id uuid, counted int, position int)),
    -- Locked in id order (KEY SHARE, what the lines' foreign keys take anyway): left to the FK checks,
    -- the locks came in input order and deadlocked with orders, which lock items FOR UPDATE by id.
    known AS (SELECT id, stock, lot_stock FROM items WHERE tenant_id = ${t} AND id IN (SELECT item_id FROM input) AND deleted_at IS NULL ORDER BY id FOR KEY SHARE),
    -- A lot line's snapshot is the lot's quantity; a line without lotId counts the unlotted units.
    known_lots AS (SELECT l.id, l.item_id, l.quantity FROM lots l WHERE l.tenant_id = ${t} AND l.id IN (SELECT lot_id FROM input)),
    bad_lots AS (SELECT x.* FROM input x WHERE x.lot_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM known_lots kl WHERE kl.id = x.lot_id AND kl.item_id = x.item_id)),
    take AS (INSERT INTO stock_takes (id, tenant_id, note, created_by) VALUES (${id}, ${t}, ${input.note ?? null}, ${userId}) RETURNING *),
    lines AS (
      INSERT INTO stock_take_lines (stock_take_id, tenant_id, item_id, lot_id, position, expected_quantity, counted_quantity)
      SELECT s.id, ${t}, x.item_id, x.lot_id, x.position, coalesce(kl.quantity, k.stock - k.lot_stock), x.counted
      FROM input x JOIN known k ON k.id = x.item_id LEFT JOIN known_lots kl ON kl.id = x.lot_id AND kl.item_id = x.item_id CROSS JOIN take s
      WHERE NOT EXISTS (SELECT 1 FROM bad_lots)
      RETURNING *
    )
    SELECT CASE WHEN EXISTS (SELECT 1 FROM input x WHERE x.item_id NOT IN (SELECT id FROM known)) THEN tally_fail('unknown_items',
        (SELECT jsonb_agg(jsonb_build_object('itemId', x.item_id, 'position', x.position) ORDER BY x.position) FROM input x WHERE x.item_id NOT IN (SELECT id FROM known)))
      WHEN EXISTS (SELECT 1 FROM bad_lots) THEN tally_fail('unknown_lots',
        (SELECT jsonb_agg(jsonb_build_object('itemId', x.item_id, 'lotId', x.lot_id, 'position', x.position) ORDER BY x.position) FROM bad_lots x)) END AS failed,
      (SELECT ${stockTakeJson("s", "lines")} FROM take s) AS take`,
  );
  return toStockTake(rows[0]!.take);
}

export async function findStockTake(db: Db, tenantId: string, id: string): Promise<StockTake | undefined> {
  const rows = await query(db, sql`SELECT ${stockTakeJson("s")} AS take FROM stock_takes s WHERE s.tenant_id = ${tenantId} AND s.id = ${id}`);
  return rows[0] ? toStockTake(rows[0].take) : undefined;
}

/** Applies an open stock-take; `status` is the current one when nothing was applied (undefined: no such stock-take). */
export async function applyStockTake(db: Db, tenantId: string, id: string, userId: string, actor: Actor): Promise<{ take?: StockTake; status?: string }> {
  const t = tenantId;
  const lockTake = sql`SELECT 1 FROM stock_takes WHERE tenant_id = ${t} AND id = ${id} FOR UPDATE`;
  const lockItems = sql`SELECT 1 FROM items i WHERE i.tenant_id = ${t} AND i.id IN (SELECT item_id FROM stock_take_lines WHERE stock_take_id = ${id}) ORDER BY i.id FOR UPDATE`;
  const act = sql`
    WITH target AS (SELECT status FROM stock_takes WHERE tenant_id = ${t} AND id = ${id}),
    ok AS (SELECT 1 FROM target WHERE status = 'open'),
    plan AS (
      -- What the line counted as it is now: the lot's quantity, or the unlotted units (stock − lot_stock).
      -- Floored at minus that: a count can take it to 0, never below (it moved since the snapshot).
      SELECT l.item_id, l.lot_id, l.position, s.now AS stock_now, greatest(-s.now, l.counted_quantity - l.expected_quantity) AS delta
      FROM stock_take_lines l JOIN items i ON i.id = l.item_id LEFT JOIN lots lt ON lt.id = l.lot_id
      CROSS JOIN LATERAL (SELECT CASE WHEN l.lot_id IS NULL THEN i.stock - i.lot_stock ELSE lt.quantity END AS now) s
      WHERE l.stock_take_id = ${id} AND EXISTS (SELECT 1 FROM ok)
    ),
    -- Per item: the total and the lotted part; one version step per moving line (one per ledger row).
    item_plan AS (
      SELECT item_id, sum(delta)::int AS delta, coalesce(sum(delta) FILTER (WHERE lot_id IS NOT NULL), 0)::int AS lot_delta, count(*) FILTER (WHERE delta <> 0)::int AS steps
      FROM plan GROUP BY item_id
    ),
    moved AS (
      UPDATE items i SET stock = i.stock + p.delta, lot_stock = i.lot_stock + p.lot_delta, version = i.version + p.steps, updated_at = now()
      FROM item_plan p WHERE i.id = p.item_id AND p.steps > 0
      RETURNING i.id, p.delta, i.name, i.sku, i.stock AS stock_after, i.low_stock_threshold
    ),
    lots_counted AS (
      UPDATE lots l SET quantity = l.quantity + p.delta, updated_at = now()
      FROM plan p WHERE l.id = p.lot_id AND p.delta <> 0
      RETURNING 1
    ),
    ledger AS (
      INSERT INTO stock_movements (id, tenant_id, item_id, lot_id, delta, reason, note, created_by)
      SELECT gen_random_uuid(), ${t}, p.item_id, p.lot_id, p.delta, 'count', ${`stock-take ${id}`}, ${userId} FROM plan p WHERE p.delta <> 0
      RETURNING 1
    ),
    done_lines AS (
      UPDATE stock_take_lines l SET stock_at_apply = p.stock_now, applied_delta = p.delta
      FROM plan p WHERE l.stock_take_id = ${id} AND l.item_id = p.item_id AND l.lot_id IS NOT DISTINCT FROM p.lot_id
      RETURNING l.*
    ),
    applied AS (
      UPDATE stock_takes s SET status = 'applied', applied_at = now(), applied_by = ${userId}
      WHERE s.tenant_id = ${t} AND s.id = ${id} AND EXISTS (SELECT 1 FROM ok)
      RETURNING *
    ),
    ${eventsCte("take_events", t, actor, sql`SELECT 'stock_take.applied' AS type, 'stock_take' AS resource_type, a.id AS resource_id,
      jsonb_build_object('stockTakeId', a.id, 'lines', (SELECT coalesce(jsonb_agg(jsonb_strip_nulls(jsonb_build_object('itemId', item_id, 'lotId', lot_id, 'delta', delta)) ORDER BY position), '[]'::jsonb) FROM plan)) AS data FROM applied a`)},
    ${stockLevelEvents("stock_events", t, actor, sql`SELECT id, name, sku, stock_after - delta AS before, stock_after AS after, low_stock_threshold AS threshold FROM moved`)}
    SELECT CASE WHEN (SELECT count(*) FROM lots_counted) <> (SELECT count(*) FROM plan WHERE lot_id IS NOT NULL AND delta <> 0) THEN tally_fail('lots_moved', '{}'::jsonb) END AS failed,
      (SELECT status FROM target) AS current_status, (SELECT ${stockTakeJson("a", "done_lines")} FROM applied a) AS take`;
  const results = await atomic(db, [lockTake, lockItems, act]);
  const row = results[2]![0]!;
  if (row.take) return { take: toStockTake(row.take) };
  return { status: (row.current_status as string | null) ?? undefined };
}
