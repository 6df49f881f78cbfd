import { sql } from "../../db/sql.js";
import { query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { fromJson, toNumber } from "../../db/values.js";
import { eventsCte, stockLevelEvents, SYSTEM } from "../events/outbox.js";
import { todayIn } from "../tenants/zone.js";

// Lots (issue 15): the expiry write-off and the expiring-soon list. How orders, edits and cancels
// move lots is in lib/orders/lots.ts; receipts in po-repo.ts; counts in stock-take-repo.ts.

export interface ExpiryRun {
  lots: number;
  units: number;
  tenants: string[];
}

/**
 * The expire-lots cron: every lot, of every tenant, whose expiry date is before the tenant's today
 * and which still holds units is written off — the lot to 0, its item's stock and lot_stock down by
 * as much, a ledger row (reason 'expired', lot_id) and a lot.expired event per lot, the stock-level
 * events per item. One statement: items locked in id order first (as every writer of lots does),
 * then the lots FOR NO KEY UPDATE, which re-reads each at its latest version — a concurrent run
 * waits, then finds the lot at 0 and skips it, so each unit is written off exactly once. `limit`
 * bounds one run's work (the rest is left for the next run; `remaining` says whether any is).
 * `tenantId` limits the run to one tenant (running it by hand for one shop).
 */
export async function expireLots(db: Db, limit: number, tenantId?: string): Promise<ExpiryRun & { remaining: boolean }> {
  const rows = await query(
    db,
    sql`
    WITH due AS (
      SELECT l.id, l.item_id FROM lots l JOIN tenants tn ON tn.id = l.tenant_id
      WHERE l.quantity > 0 AND l.expires_on < (now() AT TIME ZONE coalesce(tn.timezone, 'UTC'))::date ${tenantId ? sql`AND l.tenant_id = ${tenantId}` : sql``}
      ORDER BY l.expires_on, l.id LIMIT ${limit + 1}
    ),
    batch AS (SELECT * FROM due ORDER BY id LIMIT ${limit}),
    locked AS (SELECT i.id FROM items i WHERE i.id IN (SELECT item_id FROM batch) ORDER BY i.id FOR UPDATE),
    doomed AS (
      SELECT l.id, l.tenant_id, l.item_id, l.lot_code, l.expires_on, l.quantity FROM lots l
      WHERE l.id IN (SELECT id FROM batch) AND l.quantity > 0 AND EXISTS (SELECT 1 FROM locked k WHERE k.id = l.item_id)
      ORDER BY l.id FOR NO KEY UPDATE OF l
    ),
    written AS (
      -- By id only: doomed holds the lock and the current quantity (a quantity condition here would be
      -- evaluated on the snapshot's version first, see lib/orders/lots.ts).
      UPDATE lots l SET quantity = l.quantity - d.quantity, updated_at = now() FROM doomed d WHERE l.id = d.id
      RETURNING d.id, d.tenant_id, d.item_id, d.lot_code, d.expires_on, d.quantity
    ),
    per_item AS (SELECT item_id, sum(quantity)::int AS quantity, count(*)::int AS lots FROM written GROUP BY item_id),
    -- One version step per ledger row, as everywhere else.
    items_down AS (
      UPDATE items i SET stock = i.stock - p.quantity, lot_stock = i.lot_stock - p.quantity, version = i.version + p.lots, updated_at = now()
      FROM per_item p WHERE i.id = p.item_id
      RETURNING i.id, i.tenant_id, p.quantity, i.name, i.sku, i.stock AS stock_after, i.low_stock_threshold
    ),
    ledger AS (
      INSERT INTO stock_movements (id, tenant_id, item_id, lot_id, delta, reason, note)
      SELECT gen_random_uuid(), w.tenant_id, w.item_id, w.id, -w.quantity, 'expired', 'lot ' || w.lot_code || ' expired ' || w.expires_on::text
      FROM written w JOIN items_down d ON d.id = w.item_id
      RETURNING 1
    ),
    ${eventsCte(
      "lot_events",
      sql`e.tenant_id`,
      SYSTEM,
      sql`SELECT 'lot.expired' AS type, 'lot' AS resource_type, w.id AS resource_id, w.tenant_id,
        jsonb_build_object('lot', jsonb_build_object('id', w.id, 'itemId', w.item_id, 'lotCode', w.lot_code, 'expiresOn', w.expires_on), 'quantity', w.quantity,
          'itemName', i.name, 'itemSku', i.sku) AS data
        FROM written w JOIN items i ON i.id = w.item_id`,
    )},
    ${stockLevelEvents("stock_events", "per row", SYSTEM, sql`SELECT id, tenant_id, name, sku, stock_after + quantity AS before, stock_after AS after, low_stock_threshold AS threshold FROM items_down`)}
    SELECT (SELECT count(*) FROM written) AS lots, (SELECT coalesce(sum(quantity), 0) FROM written) AS units,
      (SELECT coalesce(json_agg(DISTINCT tenant_id), '[]'::json) FROM written) AS tenants, (SELECT count(*) FROM due) > ${limit} AS remaining`,
  );
  const row = rows[0]!;
  return { lots: toNumber(row.lots), units: toNumber(row.units), tenants: fromJson<string[]>(row.tenants).map(String), remaining: row.remaining === true || row.remaining === "t" };
}

export interface ExpiringLot {
  lotId: string;
  lotCode: string;
  expiresOn: string | null;
  daysLeft: number;
  expired: boolean;
  quantity: number;
  item: { id: string; name: string; sku: string | null };
  unitCostCents: number | null;
  valueCents: number | null;
}

/**
 * Lots holding units that expire within `days` of the tenant's today (inclusive), and those already
 * expired but not yet written off, by expiry then id; keyset after (expiresOn, id). Items soft-deleted
 * are left out. Unit cost: the preferred live supplier link's unitCostCents (items carry no cost of
 * their own); null without one.
 */
export async function listExpiring(db: Db, tenantId: string, days: number, limit: number, after: { expiresOn: string; id: string } | undefined) {
  const t = tenantId;
  const rows = await query(
    db,
    sql`
    WITH today AS (SELECT ${todayIn(t)} AS d)
    SELECT l.id, l.lot_code, l.expires_on::text AS expires_on, (l.expires_on - (SELECT d FROM today))::int AS days_left, l.quantity,
      i.id AS item_id, i.name, i.sku,
      (SELECT sc.unit_cost_cents FROM item_suppliers sc JOIN suppliers ss ON ss.id = sc.supplier_id AND ss.deleted_at IS NULL WHERE sc.item_id = l.item_id AND sc.preferred) AS unit_cost
    FROM lots l JOIN items i ON i.id = l.item_id AND i.deleted_at IS NULL
    WHERE l.tenant_id = ${t} AND l.quantity > 0 AND l.expires_on <= (SELECT d FROM today) + ${days}::int
      ${after ? sql`AND (l.expires_on, l.id) > (${after.expiresOn}::date, ${after.id}::uuid)` : sql``}
    ORDER BY l.expires_on, l.id
    LIMIT ${limit + 1}`,
  );
  const all = rows.map((r): ExpiringLot => {
    const quantity = toNumber(r.quantity);
    const unitCost = r.unit_cost === null || r.unit_cost === undefined ? null : toNumber(r.unit_cost);
    const daysLeft = toNumber(r.days_left);
    return {
      lotId: String(r.id),
      lotCode: String(r.lot_code),
      expiresOn: (r.expires_on as string | null) ?? null,
      daysLeft,
      expired: daysLeft < 0,
      quantity,
      item: { id: String(r.item_id), name: String(r.name), sku: (r.sku as string | null) ?? null },
      unitCostCents: unitCost,
      valueCents: unitCost === null ? null : unitCost * quantity,
    };
  });
  return { items: all.slice(0, limit), more: all.length > limit };
}
