import { sql, type SQL } from "../../db/sql.js";
import { atomic, query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { eventsCte, type Actor } from "../events/outbox.js";
import { gatedStatement, type IdempotencyRequest } from "../idempotency/keys.js";
import { orderJson } from "../orders/json.js";
import { paymentJson } from "./checkout-repo.js";

// Shopper orders (issue 14): read, list, pay, cancel — and the expiry of pay-later reservations.
//
// Expiry is a conditional update: a `pending` order whose reserved_until has passed becomes
// `cancelled` (reason reservation_expired) and its stock goes back (ledger reason `release`) in the
// same statement. Whoever gets there first does it — the cron sweep or any request that touches
// the order (read, list, pay, cancel) — and everyone else's update finds the order no longer
// pending: Postgres re-checks an UPDATE's WHERE on the row's latest version after waiting for it.
// A pay confirms only a pending order whose reservation has NOT passed (`reserved_until > now()`),
// so a paid order can never be expired and an expired one never paid.
//
// The stock returned is the order's lines as the statement read them. Statements that touch one
// order lock it first (statement 1 of their batch), so they read its current lines; a statement
// that cannot (the sweep, a read) expires an order only if its version is still the one whose
// lines it read (`o.version = s.version`, re-checked on the latest row), so a line edit committed
// meanwhile makes it skip the order (the next touch or sweep gets it).

const SYSTEM: Actor = { type: "system", id: null };
/** A shopper, who has no identity beyond the order's token or session. */
const SHOPPER: Actor = { type: "public", id: null };

/**
 * How the shopper proves an order is theirs: the order access token or the session that placed it
 * (SHA-256 of either), or a signed-in account's verified email (its customer's orders). Any one of
 * those the request carries is enough.
 */
export interface Access {
  tokenHash?: string;
  sessionHash?: string;
  customerEmail?: string;
}

const shopCte = (slug: string) => sql`shop AS (SELECT t.id FROM tenants t WHERE t.slug = ${slug} AND t.deleted_at IS NULL)`;

function accessible(o: string, a: Access): SQL {
  const ways: SQL[] = [];
  if (a.tokenHash) ways.push(sql`${sql.raw(o)}.access_token_hash = ${a.tokenHash}`);
  if (a.sessionHash) ways.push(sql`${sql.raw(o)}.session_hash = ${a.sessionHash}`);
  if (a.customerEmail) {
    ways.push(sql`${sql.raw(o)}.customer_id IN (SELECT c.id FROM customers c WHERE c.tenant_id = ${sql.raw(o)}.tenant_id AND lower(c.email) = ${a.customerEmail})`);
  }
  return ways.length ? sql`(${sql.join(ways, sql` OR `)})` : sql`false`;
}

/** The order as its shopper sees it: no SKU, version, staff notes or customer record; with its payment from `payments` (a table or CTE). */
export const shopperOrderJson = (o: string, payments = "payments") =>
  sql.raw(`json_build_object(
    'id', ${o}.id, 'number', ${o}.number, 'status', ${o}.status, 'cancelReason', ${o}.cancel_reason,
    'totalCents', ${o}.total_cents, 'units', ${o}.units, 'currency', (SELECT tc.currency FROM tenants tc WHERE tc.id = ${o}.tenant_id),
    'reservedUntil', CASE WHEN ${o}.status = 'pending' THEN ${o}.reserved_until END,
    'createdAt', ${o}.created_at, 'updatedAt', ${o}.updated_at, 'cancelledAt', ${o}.cancelled_at,
    'lines', coalesce((SELECT json_agg(json_build_object('itemId', ol.item_id, 'name', ol.name, 'unitPriceCents', ol.unit_price_cents,
        'quantity', ol.quantity, 'lineTotalCents', ol.unit_price_cents::bigint * ol.quantity) ORDER BY ol.position)
      FROM order_lines ol WHERE ol.order_id = ${o}.id), '[]'::json),
    'payment', (SELECT json_build_object('id', sp.id, 'method', sp.method, 'status', sp.status, 'amountCents', sp.amount_cents, 'cardLast4', sp.card_last4)
      FROM ${payments} sp WHERE sp.order_id = ${o}.id LIMIT 1))`);

const level = (stock: string, threshold: string) => `CASE WHEN ${stock} <= 0 THEN 0 WHEN ${stock} <= ${threshold} THEN 1 ELSE 2 END`;

/**
 * CTEs `<p>_…` giving back the stock of the orders in CTE `source` (order rows this statement just
 * cancelled, of any tenants): items locked in id order and restocked, one ledger row per order and
 * item (`reason`), the payment refunded (it had succeeded) or voided (pending), and the events:
 * order.cancelled (`from`: the status before), payment.refunded|voided, stock-level changes.
 */
function releaseCtes(p: string, source: string, reason: "release" | "cancel", actor: Actor, from: SQL): SQL {
  const r = (name: string) => sql.raw(`${p}_${name}`);
  const src = sql.raw(source);
  return sql`
    ${r("held")} AS (
      SELECT l.tenant_id, l.order_id, l.item_id, sum(l.quantity)::int AS q FROM order_lines l
      WHERE l.order_id IN (SELECT id FROM ${src}) GROUP BY l.tenant_id, l.order_id, l.item_id
    ),
    -- One version step per ledger row (the invariant suite counts them): n orders releasing one item.
    ${r("per_item")} AS (SELECT item_id, sum(q)::int AS q, count(*)::int AS n FROM ${r("held")} GROUP BY item_id),
    ${r("locked")} AS (SELECT i.id FROM items i WHERE i.id IN (SELECT item_id FROM ${r("per_item")}) ORDER BY i.id FOR UPDATE),
    -- What the orders took from lots goes back to those lots (lib/orders/lots.ts), and their
    -- allocations end. The allocations read here match the orders' versions: the cancel locks the
    -- order first (a fresh snapshot), the sweep expires an order only at the version it saw.
    ${r("lot_back")} AS (
      SELECT a.lot_id, a.item_id, sum(a.quantity)::int AS q FROM order_lot_allocations a
      WHERE a.order_id IN (SELECT id FROM ${src}) GROUP BY a.lot_id, a.item_id
    ),
    ${r("lot_sums")} AS (SELECT item_id, sum(q)::int AS to_lots FROM ${r("lot_back")} GROUP BY item_id),
    ${r("restocked")} AS (
      UPDATE items i SET stock = i.stock + h.q, lot_stock = i.lot_stock + coalesce(b.to_lots, 0), version = i.version + h.n, updated_at = now()
      FROM ${r("per_item")} h LEFT JOIN ${r("lot_sums")} b ON b.item_id = h.item_id WHERE i.id = h.item_id AND i.id IN (SELECT id FROM ${r("locked")})
      RETURNING i.id, i.tenant_id, h.q, i.name, i.sku, i.stock AS stock_after, i.low_stock_threshold
    ),
    ${r("lots_refilled")} AS (
      UPDATE lots l SET quantity = l.quantity + b.q, updated_at = now() FROM ${r("lot_back")} b WHERE l.id = b.lot_id
      RETURNING 1
    ),
    ${r("allocs_ended")} AS (DELETE FROM order_lot_allocations a WHERE a.order_id IN (SELECT id FROM ${src}) RETURNING 1),
    ${r("moves")} AS (
      INSERT INTO stock_movements (id, tenant_id, item_id, delta, reason, order_id)
      SELECT gen_random_uuid(), h.tenant_id, h.item_id, h.q, ${reason}, h.order_id FROM ${r("held")} h
      WHERE h.item_id IN (SELECT id FROM ${r("restocked")})
      RETURNING 1
    ),
    ${r("payments")} AS (
      UPDATE payments pm SET status = CASE WHEN pm.status = 'succeeded' THEN 'refunded' ELSE 'voided' END, updated_at = now()
      WHERE pm.order_id IN (SELECT id FROM ${src}) AND pm.status IN ('succeeded', 'pending')
      RETURNING pm.*
    ),
    ${eventsCte(`${p}_order_events`, sql`e.tenant_id`, actor, sql`SELECT c.tenant_id, 'order.cancelled' AS type, 'order' AS resource_type, c.id AS resource_id,
      jsonb_build_object('order', ${orderJson("c")}, 'from', ${from}) AS data FROM ${src} c`)},
    ${eventsCte(`${p}_payment_events`, sql`e.tenant_id`, actor, sql`SELECT pm.tenant_id, 'payment.' || pm.status AS type, 'payment' AS resource_type, pm.id AS resource_id,
      jsonb_build_object('payment', ${paymentJson("pm")}) AS data FROM ${r("payments")} pm`)},
    ${eventsCte(`${p}_stock_events`, sql`e.tenant_id`, actor, sql`SELECT s.tenant_id, CASE WHEN s.after <= 0 THEN 'item.out_of_stock' WHEN s.after <= s.threshold THEN 'item.stock_low' ELSE 'item.restocked' END AS type,
        'item' AS resource_type, s.id AS resource_id,
        jsonb_build_object('itemId', s.id, 'name', s.name, 'sku', s.sku, 'stock', s.after, 'previousStock', s.before, 'lowStockThreshold', s.threshold) AS data
      FROM (SELECT tenant_id, id, name, sku, stock_after - q AS before, stock_after AS after, low_stock_threshold AS threshold FROM ${r("restocked")}) s
      WHERE ${sql.raw(level("s.before", "s.threshold"))} <> ${sql.raw(level("s.after", "s.threshold"))}`)}`;
}

/**
 * CTEs expiry_seen, expiry_claim, expired and the release: expires the orders `candidates` (a SELECT
 * of id and version as this statement's snapshot shows them) that are still pending, past their
 * reservation and at that version. Rows another transaction holds are skipped (it will decide).
 */
function expiryCtes(candidates: SQL, actor: Actor): SQL {
  return sql`
    expiry_seen AS (${candidates}),
    expiry_claim AS (SELECT o.id FROM orders o WHERE o.id IN (SELECT id FROM expiry_seen) ORDER BY o.id FOR UPDATE SKIP LOCKED),
    expired AS (
      UPDATE orders o SET status = 'cancelled', cancel_reason = 'reservation_expired', cancelled_at = now(), version = o.version + 1, updated_at = now()
      FROM expiry_seen s
      WHERE o.id = s.id AND o.id IN (SELECT id FROM expiry_claim) AND o.version = s.version
        AND o.status = 'pending' AND o.reserved_until IS NOT NULL AND o.reserved_until <= now()
      RETURNING o.*
    ),
    ${releaseCtes("expiry", "expired", "release", actor, sql`'pending'::text`)}`;
}

/** The cron sweep: up to `limit` expired reservations, across tenants, in one statement. */
export async function sweepExpired(db: Db, limit: number): Promise<{ expired: number; tenants: string[]; more: boolean }> {
  const rows = await query(
    db,
    sql`WITH ${expiryCtes(
      sql`SELECT o.id, o.version FROM orders o WHERE o.status = 'pending' AND o.reserved_until IS NOT NULL AND o.reserved_until <= now() ORDER BY o.reserved_until LIMIT ${limit}`,
      SYSTEM,
    )}
    SELECT (SELECT count(*) FROM expired)::int AS expired, (SELECT count(*) FROM expiry_seen)::int AS seen,
           coalesce((SELECT json_agg(DISTINCT tenant_id) FROM expired), '[]'::json) AS tenants`,
  );
  const row = rows[0]!;
  const tenants = typeof row.tenants === "string" ? JSON.parse(row.tenants) : row.tenants;
  return { expired: Number(row.expired), tenants: (tenants as string[]).map(String), more: Number(row.seen) >= limit };
}

export interface ShopperRead {
  tenantId: string | null;
  order: unknown;
  expired: boolean;
}

/** One order for its shopper (expiring it first if its reservation has passed). */
export async function readOrder(db: Db, slug: string, id: string, access: Access): Promise<ShopperRead> {
  const rows = await query(
    db,
    sql`WITH ${shopCte(slug)},
    target AS (SELECT o.id, o.version FROM orders o WHERE o.tenant_id = (SELECT id FROM shop) AND o.id = ${id} AND ${accessible("o", access)}),
    ${expiryCtes(sql`SELECT id, version FROM target`, SHOPPER)},
    final AS (SELECT * FROM expired UNION ALL SELECT o.* FROM orders o WHERE o.id IN (SELECT id FROM target) AND NOT EXISTS (SELECT 1 FROM expired)),
    final_payments AS (SELECT * FROM expiry_payments UNION ALL SELECT pm.* FROM payments pm WHERE pm.order_id IN (SELECT id FROM target) AND NOT EXISTS (SELECT 1 FROM expiry_payments))
    SELECT (SELECT id FROM shop) AS tenant_id, (SELECT ${shopperOrderJson("f", "final_payments")} FROM final f) AS order, EXISTS (SELECT 1 FROM expired) AS expired`,
  );
  const row = rows[0]!;
  return { tenantId: (row.tenant_id as string | null) ?? null, order: row.order ?? null, expired: row.expired === true || row.expired === "t" };
}

/** A shopper's orders (by session and/or account), newest first, a keyset page (expiring any whose reservation has passed). */
export async function listOrders(db: Db, slug: string, access: Access, limit: number, before: string | undefined): Promise<{ tenantId: string | null; orders: unknown[]; expired: boolean }> {
  const rows = await query(
    db,
    sql`WITH ${shopCte(slug)},
    ${expiryCtes(
      sql`SELECT o.id, o.version FROM orders o WHERE o.tenant_id = (SELECT id FROM shop) AND ${accessible("o", access)}
        AND o.status = 'pending' AND o.reserved_until IS NOT NULL AND o.reserved_until <= now()`,
      SHOPPER,
    )},
    page AS (
      SELECT o.* FROM orders o WHERE o.tenant_id = (SELECT id FROM shop) AND ${accessible("o", access)}
        AND (${before ?? null}::uuid IS NULL OR o.id < ${before ?? null}::uuid)
      ORDER BY o.id DESC LIMIT ${limit + 1}
    ),
    final AS (SELECT * FROM expired WHERE id IN (SELECT id FROM page) UNION ALL SELECT * FROM page WHERE id NOT IN (SELECT id FROM expired)),
    final_payments AS (SELECT * FROM expiry_payments UNION ALL SELECT pm.* FROM payments pm WHERE pm.order_id IN (SELECT id FROM page) AND pm.id NOT IN (SELECT id FROM expiry_payments))
    SELECT (SELECT id FROM shop) AS tenant_id, coalesce((SELECT json_agg(${shopperOrderJson("f", "final_payments")} ORDER BY f.id DESC) FROM final f), '[]'::json) AS orders,
      EXISTS (SELECT 1 FROM expired) AS expired`,
  );
  const row = rows[0]!;
  const orders = typeof row.orders === "string" ? JSON.parse(row.orders) : row.orders;
  return { tenantId: (row.tenant_id as string | null) ?? null, orders: orders as unknown[], expired: row.expired === true || row.expired === "t" };
}

/** Statement 1 of a write to a shopper's order: its row lock, so the next statement reads its current lines. */
const lockOrder = (slug: string, id: string) =>
  sql`SELECT 1 FROM orders o WHERE o.tenant_id = (SELECT t.id FROM tenants t WHERE t.slug = ${slug} AND t.deleted_at IS NULL) AND o.id = ${id} FOR NO KEY UPDATE`;

const refusal = sql`jsonb_build_object('status', (SELECT status FROM target), 'cancelReason', (SELECT cancel_reason FROM target))`;

/** CTEs final and final_payments: the order and its payment as they are after the write (from whichever CTE changed them). */
function outcomeCtes(changed: string[], changedPayments: string[]): SQL {
  const noneOf = (names: string[]) => names.map((n) => `NOT EXISTS (SELECT 1 FROM ${n})`).join(" AND ");
  const orders = [...changed.map((n) => `SELECT * FROM ${n}`), `SELECT o.* FROM orders o WHERE o.id IN (SELECT id FROM target) AND ${noneOf(changed)}`].join(" UNION ALL ");
  const pays = [...changedPayments.map((n) => `SELECT * FROM ${n}`), `SELECT pm.* FROM payments pm WHERE pm.order_id IN (SELECT id FROM target) AND ${noneOf(changedPayments)}`].join(" UNION ALL ");
  return sql.raw(`final AS (${orders}),
    final_payments AS (${pays})`);
}

const outcomeColumns = sql`(SELECT id FROM shop) AS tenant_id, EXISTS (SELECT 1 FROM expired) AS expired, (SELECT ${shopperOrderJson("f", "final_payments")} FROM final f) AS order`;

const render = (id: SQL) => sql`SELECT ${shopperOrderJson("r")} FROM orders r WHERE r.tenant_id = (SELECT id FROM shop) AND r.id = ${id}`;

const targetCte = (slug: string, id: string, access: Access) =>
  sql`${shopCte(slug)},
    target AS (SELECT o.* FROM orders o WHERE o.tenant_id = (SELECT id FROM shop) AND o.id = ${id} AND ${accessible("o", access)})`;

/**
 * Pays a pending pay-later order by card (the simulated charge, decided before: `card` is its
 * outcome). Expires it instead if its reservation has passed. A declined card, a missing order or
 * one that is not pending raises (`refused`, nothing kept).
 */
export async function payOrder(db: Db, slug: string, id: string, access: Access, card: { ok: boolean; last4: string }, idem: IdempotencyRequest | undefined): Promise<Record<string, unknown>> {
  return shopperOrderWrite(db, slug, id, access, idem, {
    work: sql`
    paid AS (
      UPDATE orders o SET status = 'confirmed', version = o.version + 1, updated_at = now()
      WHERE o.id IN (SELECT id FROM target) AND o.status = 'pending' AND o.reserved_until > now() AND ${card.ok}::boolean AND EXISTS (SELECT 1 FROM go)
      RETURNING o.*
    ),
    paid_payments AS (
      UPDATE payments pm SET method = 'card', status = 'succeeded', card_last4 = ${card.last4}, failure_code = NULL, updated_at = now()
      WHERE pm.order_id IN (SELECT id FROM paid) AND pm.status = 'pending'
      RETURNING pm.*
    ),
    ${eventsCte("paid_order_events", sql`e.tenant_id`, SHOPPER, sql`SELECT p.tenant_id, 'order.status_changed' AS type, 'order' AS resource_type, p.id AS resource_id,
      jsonb_build_object('order', ${orderJson("p")}, 'from', 'pending', 'to', 'confirmed') AS data FROM paid p`)},
    ${eventsCte("paid_payment_events", sql`e.tenant_id`, SHOPPER, sql`SELECT pm.tenant_id, 'payment.succeeded' AS type, 'payment' AS resource_type, pm.id AS resource_id,
      jsonb_build_object('payment', ${paymentJson("pm")}) AS data FROM paid_payments pm`)},
    ${outcomeCtes(["paid", "expired"], ["paid_payments", "expiry_payments"])}`,
    succeeded: sql`EXISTS (SELECT 1 FROM paid) OR EXISTS (SELECT 1 FROM expired)`,
  });
}

/**
 * The shopper cancels a pending or confirmed order: stock back once (ledger reason `cancel`), the
 * payment refunded (card) or voided (pay later). An order whose reservation has passed is expired
 * instead (the same end: cancelled, stock back once).
 */
export async function cancelOrder(db: Db, slug: string, id: string, access: Access, idem: IdempotencyRequest | undefined): Promise<Record<string, unknown>> {
  return shopperOrderWrite(db, slug, id, access, idem, {
    work: sql`
    cancelled AS (
      UPDATE orders o SET status = 'cancelled', cancel_reason = 'shopper', cancelled_at = now(), version = o.version + 1, updated_at = now()
      WHERE o.id IN (SELECT id FROM target) AND o.status IN ('pending', 'confirmed')
        AND NOT (o.status = 'pending' AND o.reserved_until IS NOT NULL AND o.reserved_until <= now()) AND EXISTS (SELECT 1 FROM go)
      RETURNING o.*
    ),
    ${releaseCtes("cancel", "cancelled", "cancel", SHOPPER, sql`(SELECT status FROM target)`)},
    ${outcomeCtes(["cancelled", "expired"], ["cancel_payments", "expiry_payments"])}`,
    succeeded: sql`EXISTS (SELECT 1 FROM cancelled) OR EXISTS (SELECT 1 FROM expired)`,
  });
}

/**
 * A shopper's write to one of their orders (pay, cancel): the order row locked first (so the
 * statement's snapshot is fresh), its reservation expired if it has passed, then `work`, gated by the
 * Idempotency-Key; one batch, one round trip.
 */
async function shopperOrderWrite(db: Db, slug: string, id: string, access: Access, idem: IdempotencyRequest | undefined, write: { work: SQL; succeeded: SQL }): Promise<Record<string, unknown>> {
  const statement = gatedStatement({
    tenantId: sql`(SELECT id FROM shop)`,
    idem,
    resourceId: id,
    before: targetCte(slug, id, access),
    onlyIf: sql`EXISTS (SELECT 1 FROM shop)`,
    work: sql`
    ${expiryCtes(sql`SELECT id, version FROM target`, SHOPPER)},
    ${write.work}`,
    succeeded: write.succeeded,
    refusal,
    columns: outcomeColumns,
    render,
  });
  const results = await atomic(db, [lockOrder(slug, id), statement]);
  return results[1]![0]!;
}

/** A shopper order again, for a replay whose first request committed while it ran. */
export async function findShopperOrder(db: Db, slug: string, id: string): Promise<unknown> {
  const rows = await query(db, sql`WITH ${shopCte(slug)} SELECT (${render(sql`${id}`)}) AS order`);
  return rows[0]?.order ?? undefined;
}
