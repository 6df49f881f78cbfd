import { sql, type SQL } from "../../db/sql.js";
import { classifyDbError } from "../../db/errors.js";
import { todayIn } from "../tenants/zone.js";

// Lots in the order statements (issue 15). An item's stock is Σ of its lots (items.lot_stock) plus
// its unlotted units (stock − lot_stock). Orders take FEFO: the sellable lots (not expired: expiry on
// or after the tenant's today) by earliest expiry, lots without expiry after dated ones, then
// unlotted units. An expired lot is never sold, so sellable = unlotted + Σ sellable lots.
// order_lot_allocations records what each order's line took from which lot; cancels and edits that
// lower a line give units back to those lots (the unlotted part first, then the latest-expiring lot).
//
// Every statement here moves an item's lot_stock by exactly the sum it moves its lots, in the same
// statement, and only after the item's row lock (all writers of lots lock the item first — no lock
// cycles). Writes to an existing order are batches whose acting statement's snapshot is taken after
// those locks, so what they read of lots is current. Order creation is ONE statement, whose snapshot
// predates its wait for the item lock; two things measured on Postgres 15 shape it:
// - the lot rows it plans against are read FOR NO KEY UPDATE, yet under a race the values that CTE
//   returned were sometimes older than the row it then updated (pool said 4, the UPDATE found 1);
// - an UPDATE's WHERE is evaluated on the version the snapshot sees, and only rows that pass are
//   re-checked on the latest version, so a quantity condition there skipped a lot a cancel had
//   refilled after the snapshot ("0 + 3 ≥ 2" failed on the stale 0).
// So the UPDATEs that apply the plan match lots by id only and check the arithmetic in their SET,
// which is computed on the latest version (lotsMovedUnless): if the plan no longer fits what is
// really there, the statement raises lots_moved and nothing at all changes — lots and lot_stock
// can never disagree and no lot goes negative (CHECKs as the backstop). retryOnLotsMoved runs such a
// write again with a fresh snapshot (measured: a handful of retries in 60 racing orders, cancels,
// edits, counts and receipts on one item; none needed without a race). A lot created by a receipt
// committed after the order's snapshot is invisible to the order: its units count in lot_stock
// (read from the locked item row, current), so they are neither sold nor mistaken for unlotted units.

/**
 * `value` when `ok` holds, else raise lots_moved: a condition in an UPDATE's SET is evaluated on the
 * row's latest version (unlike its WHERE, see above), so it checks what is really there.
 */
export const lotsMovedUnless = (ok: SQL, value: SQL) => sql`CASE WHEN ${ok} THEN ${value} WHEN tally_fail('lots_moved', '{}'::jsonb) THEN NULL END`;

/** The sellable-lot condition on lot alias `l`. */
export const sellableLot = (tenantId: string) => sql`(l.expires_on IS NULL OR l.expires_on >= ${todayIn(tenantId)})`;

/**
 * CTEs (each followed by a comma) lot_pool, lot_take, lot_sums and pool_sums: FEFO allocation of
 * `wanted` (a CTE with item_id, quantity > 0) from the sellable lots of the items in CTE `locked`
 * (which must already hold their row locks). lot_take: (lot_id, item_id, quantity ≥ 0) per lot;
 * lot_sums: (item_id, from_lots) — units the lots give, at most the wanted quantity; pool_sums:
 * (item_id, sellable) — all sellable lot units.
 */
export function fefoCtes(tenantId: string, wanted: string): SQL {
  const w = sql.raw(wanted);
  return sql`
    lot_pool AS (
      SELECT l.id, l.item_id, l.quantity, l.expires_on FROM lots l
      WHERE l.tenant_id = ${tenantId} AND l.quantity > 0 AND ${sellableLot(tenantId)}
        AND l.item_id IN (SELECT item_id FROM ${w}) AND EXISTS (SELECT 1 FROM locked k WHERE k.id = l.item_id)
      ORDER BY l.item_id, l.id FOR NO KEY UPDATE OF l
    ),
    lot_take AS (
      SELECT p.id AS lot_id, p.item_id,
        least(p.quantity, greatest(0, x.quantity - (sum(p.quantity) OVER (PARTITION BY p.item_id ORDER BY p.expires_on NULLS LAST, p.id) - p.quantity)))::int AS quantity
      FROM lot_pool p JOIN ${w} x ON x.item_id = p.item_id
    ),
    lot_sums AS (SELECT item_id, sum(quantity)::int AS from_lots FROM lot_take GROUP BY item_id),
    pool_sums AS (SELECT item_id, sum(quantity)::int AS sellable FROM lot_pool GROUP BY item_id),`;
}

/**
 * CTEs (each followed by a comma) lots_moved and lot_allocs: applies `moves` (a CTE of lot_id,
 * item_id, delta: negative = taken by the order, positive = given back) to the lots and to order
 * `orderId`'s allocations. `lotsMovedGuard` is the failure clause that goes with it.
 */
export function lotMoveCtes(tenantId: string, orderId: SQL, moves: string): SQL {
  const m = sql.raw(moves);
  return sql`
    lots_moved AS (
      UPDATE lots l SET quantity = ${lotsMovedUnless(sql`l.quantity + m.delta >= 0`, sql`l.quantity + m.delta`)}, updated_at = now()
      FROM ${m} m WHERE l.id = m.lot_id AND m.delta <> 0
      RETURNING l.id
    ),
    allocs_added AS (
      INSERT INTO order_lot_allocations AS a (order_id, tenant_id, item_id, lot_id, quantity)
      SELECT ${orderId}, ${tenantId}, m.item_id, m.lot_id, -m.delta FROM ${m} m WHERE m.delta < 0
      ON CONFLICT (order_id, item_id, lot_id) DO UPDATE SET quantity = a.quantity + excluded.quantity
      RETURNING 1
    ),
    allocs_dropped AS (
      DELETE FROM order_lot_allocations a USING ${m} m
      WHERE a.order_id = ${orderId} AND a.item_id = m.item_id AND a.lot_id = m.lot_id AND m.delta > 0 AND a.quantity <= m.delta
      RETURNING 1
    ),
    allocs_lowered AS (
      UPDATE order_lot_allocations a SET quantity = a.quantity - m.delta
      FROM ${m} m WHERE a.order_id = ${orderId} AND a.item_id = m.item_id AND a.lot_id = m.lot_id AND m.delta > 0 AND a.quantity > m.delta
      RETURNING 1
    ),`;
}

/** Raises lots_moved when a planned lot change did not apply (see the top of this file). */
export const lotsMovedGuard = (moves: string) =>
  sql`WHEN (SELECT count(*) FROM lots_moved) <> (SELECT count(*) FROM ${sql.raw(moves)} WHERE delta <> 0) THEN tally_fail('lots_moved', '{}'::jsonb)`;

/**
 * CTE lot_back (lot_id, item_id, quantity, followed by a comma): the units of order `orderId` that
 * go back to lots when its lines shrink by `give` (a CTE of item_id, quantity = units returned,
 * unlotted = units of the line that came from unlotted stock): unlotted units go back first, then
 * the lots it took, latest expiry first.
 */
export function lotBackCtes(orderId: string, give: string): SQL {
  return sql`
    held AS (
      SELECT a.item_id, a.lot_id, a.quantity, l.expires_on FROM order_lot_allocations a JOIN lots l ON l.id = a.lot_id
      WHERE a.order_id = ${orderId}
    ),
    lot_back AS (
      SELECT h.lot_id, h.item_id,
        least(h.quantity, greatest(0, (g.quantity - g.unlotted) - (sum(h.quantity) OVER (PARTITION BY h.item_id ORDER BY h.expires_on DESC NULLS FIRST, h.lot_id DESC) - h.quantity)))::int AS quantity
      FROM held h JOIN ${sql.raw(give)} g ON g.item_id = h.item_id
    ),`;
}

/**
 * Runs a write that plans against lots in one statement (order creation, checkout) again when it
 * raised lots_moved: a lot it read had changed in a way its single snapshot could not see (nothing
 * was written, so running it again — with a fresh snapshot — is safe; so is its Idempotency-Key).
 * Only under such a race does a request take more than one round trip; at most `tries` in all.
 * Retries wait a few random milliseconds, growing: writers that collided at once would otherwise
 * collide again (three immediate tries were once all lost under CI load, a 409 for the client).
 */
export async function retryOnLotsMoved<T>(write: () => Promise<T>, tries = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      const failure = classifyDbError(error);
      if (attempt >= tries || failure?.kind !== "rule_failed" || failure.rule?.code !== "lots_moved") throw error;
      await new Promise((resolve) => setTimeout(resolve, attempt * (5 + Math.random() * 20)));
    }
  }
}
