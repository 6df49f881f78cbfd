import { sql, type SQL } from "../../db/sql.js";
import { query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { eventsCte, stockLevelEvents, type Actor } from "../events/outbox.js";
import { failedOutcome, type IdempotencyRequest } from "../idempotency/keys.js";
import { orderJson } from "../orders/json.js";
import { lotMoveCtes, lotsMovedGuard } from "../orders/lots.js";

// The storefront's additions to the order-creation statement (lib/orders/repo.ts insertOrderStatement,
// through its `extend` hook): the cart's prices as the shopper saw them (a line whose price moved, or
// an item no longer published, fails the whole write with cart_changed), the payment record and its
// event. A failed card payment is a second statement in the same atomic batch: it gives the stock
// back (ledger reason 'release') and records the cancellation, so the release happens exactly once,
// in the same transaction as the reservation.

export interface PaymentRecord {
  id: string;
  method: "card" | "pay_later";
  status: "succeeded" | "failed" | "pending";
  cardLast4: string | null;
  failureCode: string | null;
}

export const paymentJson = (p: string) =>
  sql.raw(`jsonb_build_object('id', ${p}.id, 'orderId', ${p}.order_id, 'method', ${p}.method, 'status', ${p}.status, 'amountCents', ${p}.amount_cents, 'cardLast4', ${p}.card_last4, 'failureCode', ${p}.failure_code)`);

export function checkoutExtension(tenantId: string, slug: string, seen: { itemId: string; priceCents: number }[], payment: PaymentRecord, order: { status: string; reservationMinutes: number; accessTokenHash: string; sessionHash: string }, actor: Actor) {
  const t = tenantId;
  const reserved = order.status === "pending" ? sql`now() + make_interval(mins => ${order.reservationMinutes}::int)` : sql`NULL::timestamptz`;
  const cancelled = order.status === "cancelled";
  const eventType = payment.status === "succeeded" ? "payment.succeeded" : payment.status === "failed" ? "payment.failed" : "payment.pending";
  return {
    status: order.status,
    columns: sql`, reserved_until, cancel_reason, cancelled_at, access_token_hash, session_hash`,
    values: sql`, ${reserved}, ${cancelled ? "payment_failed" : null}, ${cancelled ? sql`now()` : sql`NULL::timestamptz`}, ${order.accessTokenHash}, ${order.sessionHash}`,
    work: sql`,
    seen AS (SELECT * FROM jsonb_to_recordset(${JSON.stringify(seen.map((s) => ({ item_id: s.itemId, price: s.priceCents })))}::jsonb) AS e(item_id uuid, price int)),
    changed_lines AS (
      SELECT e.item_id, e.price AS seen, i.price_cents AS now, (i.id IS NOT NULL AND i.published) AS available
      FROM seen e LEFT JOIN items i ON i.tenant_id = ${t} AND i.id = e.item_id AND i.deleted_at IS NULL
      LEFT JOIN taken x ON x.id = e.item_id
      WHERE i.id IS NULL OR NOT i.published OR coalesce(x.price_cents, i.price_cents) <> e.price
    ),
    payment AS (
      INSERT INTO payments (id, tenant_id, order_id, method, status, amount_cents, card_last4, failure_code)
      SELECT ${payment.id}, ${t}, p.id, ${payment.method}, ${payment.status}, p.total_cents, ${payment.cardLast4}, ${payment.failureCode} FROM placed p
      RETURNING *
    ),
    ${eventsCte("payment_events", t, actor, sql`SELECT ${eventType}::text AS type, 'payment' AS resource_type, pm.id AS resource_id,
      jsonb_build_object('payment', ${paymentJson("pm")}${order.status === "pending" ? sql`, 'reservedUntil', (SELECT reserved_until FROM placed)` : sql``}) AS data FROM payment pm`)}`,
    failures: sql`
      WHEN EXISTS (SELECT 1 FROM go) AND NOT EXISTS (SELECT 1 FROM seen) THEN tally_fail('empty_cart', '{}'::jsonb)
      WHEN EXISTS (SELECT 1 FROM go) AND NOT EXISTS (SELECT 1 FROM tenants WHERE id = ${t} AND slug = ${slug} AND deleted_at IS NULL) THEN tally_fail('unknown_shop', '{}'::jsonb)
      WHEN EXISTS (SELECT 1 FROM go) AND EXISTS (SELECT 1 FROM changed_lines) THEN tally_fail('cart_changed',
        (SELECT jsonb_agg(jsonb_build_object('itemId', item_id, 'seenPriceCents', seen, 'priceCents', now, 'available', available)) FROM changed_lines))`,
    result: sql`, (SELECT ${paymentJson("pm")} FROM payment pm) AS payment, (SELECT reserved_until FROM placed) AS reserved_until`,
    render: checkoutRender(t),
    // A declined card leaves a cancelled order and records its key as failed (releaseFailedCheckout):
    // the same request replays the 402, another one (a good card) takes the key over.
    retakeFailed: true as const,
  };
}

/**
 * What a checkout replay shows: the order as it is now, with its reservedUntil and its payment
 * (one payment per checkout, sharing the order's id), as one JSON value.
 */
export const checkoutRender = (tenantId: string) => (id: SQL) =>
  sql`SELECT (${orderJson("r")}::jsonb || jsonb_build_object('reservedUntil', r.reserved_until,
    'payment', (SELECT ${paymentJson("pm")} FROM payments pm WHERE pm.tenant_id = ${tenantId} AND pm.id = r.id)))::json
    FROM orders r WHERE r.tenant_id = ${tenantId} AND r.id = ${id}`;

/** A checkout's replay JSON, read again (the key's first use committed while the replay's statement ran). */
export async function findCheckout(db: Db, tenantId: string, id: string): Promise<unknown> {
  const rows = await query(db, sql`SELECT (${checkoutRender(tenantId)(sql`${id}`)}) AS checkout`);
  return rows[0]?.checkout ?? undefined;
}

/** Statement 2 of a declined checkout: the reservation goes back, once, in the same transaction. */
export function releaseFailedCheckout(tenantId: string, orderId: string, actor: Actor, idem: IdempotencyRequest | undefined): SQL {
  const t = tenantId;
  return sql`
    WITH ${failedOutcome("key_failed", t, idem, orderId)},
    held AS (SELECT l.item_id, sum(l.quantity)::int AS q FROM order_lines l WHERE l.tenant_id = ${t} AND l.order_id = ${orderId} GROUP BY l.item_id),
    -- What the order took from lots goes back to those lots (lib/orders/lots.ts).
    release_lot_moves AS (SELECT a.lot_id, a.item_id, a.quantity AS delta FROM order_lot_allocations a WHERE a.tenant_id = ${t} AND a.order_id = ${orderId}),
    back_sums AS (SELECT item_id, sum(delta)::int AS to_lots FROM release_lot_moves GROUP BY item_id),
    restocked AS (
      UPDATE items i SET stock = i.stock + h.q, lot_stock = i.lot_stock + coalesce(b.to_lots, 0), version = i.version + 1, updated_at = now()
      FROM held h LEFT JOIN back_sums b ON b.item_id = h.item_id WHERE i.tenant_id = ${t} AND i.id = h.item_id
      RETURNING i.id, h.q, i.name, i.sku, i.stock AS stock_after, i.low_stock_threshold
    ),
    ${lotMoveCtes(t, sql`${orderId}::uuid`, "release_lot_moves")}
    moves AS (
      INSERT INTO stock_movements (id, tenant_id, item_id, delta, reason, order_id)
      SELECT gen_random_uuid(), ${t}, r.id, r.q, 'release', ${orderId} FROM restocked r
      RETURNING 1
    ),
    ${eventsCte("order_events", t, actor, sql`SELECT 'order.cancelled' AS type, 'order' AS resource_type, o.id AS resource_id,
      jsonb_build_object('order', ${orderJson("o")}, 'from', 'pending') AS data FROM orders o WHERE o.tenant_id = ${t} AND o.id = ${orderId}`)},
    ${stockLevelEvents("stock_events", t, actor, sql`SELECT id, name, sku, stock_after - q AS before, stock_after AS after, low_stock_threshold AS threshold FROM restocked`)}
    SELECT CASE ${lotsMovedGuard("release_lot_moves")} END AS failed, (SELECT count(*) FROM moves) AS released`;
}
