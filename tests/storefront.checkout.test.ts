import { describe, expect, it } from "vitest";
import { sql } from "drizzle-orm/sql/sql";
import { query } from "../db/atomic.js";
import { call, errorOf, type CallResult } from "./support/client.js";
import { insertItem, type TestTenant } from "./support/fixtures.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";
import type { Db } from "../db/client.js";

const sid = (r: CallResult) => r.headers.get("x-session-id")!;
const CUSTOMER = { name: "Ana", email: "Ana@Example.com" };
const OK_CARD = "4242 4242 4242 4242";
const DECLINED = "4000-0000-0000-0002";

async function cartWith(t: TestTenant, lines: { itemId: string; quantity: number }[]) {
  let session: string | undefined;
  for (const line of lines) {
    const r = await call("POST", `/api/store/${t.slug}/cart/items`, { body: line, headers: session ? { "x-session-id": session } : {} });
    expect(r.status).toBe(201);
    session = sid(r);
  }
  return session!;
}

const checkout = (t: TestTenant, session: string, key: string, payment: unknown, extra: Record<string, unknown> = {}) =>
  call("POST", `/api/store/${t.slug}/checkout`, { body: { customer: CUSTOMER, payment, ...extra }, headers: { "x-session-id": session, "idempotency-key": key } });

async function ledger(db: Db, itemId: string) {
  const rows = await query(db, sql`SELECT i.stock, coalesce((SELECT sum(delta) FROM stock_movements m WHERE m.item_id = i.id), 0)::int AS moved FROM items i WHERE i.id = ${itemId}`);
  return { stock: Number(rows[0]!.stock), moved: Number(rows[0]!.moved) };
}

describe.each(dbTargets())("storefront checkout on %s", (name) => {
  const ctx = withTarget(name);

  it("confirms a card checkout in one database trip, empties the cart, replays the key", async () => {
    const t = await ctx.tenant();
    const mug = await insertItem(ctx.db, t.id, { published: true, stock: 5, priceCents: 1200 });
    const session = await cartWith(t, [{ itemId: mug, quantity: 2 }]);
    const done = await checkout(t, session, "k1", { method: "card", cardNumber: OK_CARD }, { shippingAddress: { line1: "1 Main St", city: "Springfield", country: "US" } });
    expect(done.status).toBe(201);
    expect(done.dbTrips).toBe(1);
    expect(done.json.order).toMatchObject({ status: "confirmed", channel: "web", totalCents: 2400, units: 2, customer: { name: "Ana", email: "ana@example.com" } });
    expect(done.json.payment).toMatchObject({ method: "card", status: "succeeded", amountCents: 2400, cardLast4: "4242" });
    expect(done.json.accessToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await ledger(ctx.db, mug)).toEqual({ stock: 3, moved: -2 });
    expect((await call("GET", `/api/store/${t.slug}/cart`, { headers: { "x-session-id": session } })).json.items).toEqual([]);
    const replay = await checkout(t, session, "k1", { method: "card", cardNumber: OK_CARD }, { shippingAddress: { line1: "1 Main St", city: "Springfield", country: "US" } });
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.json.order.id).toBe(done.json.order.id);
    expect(await ledger(ctx.db, mug)).toEqual({ stock: 3, moved: -2 });
    // The same customer (by email, any case) is found, not duplicated.
    const again = await cartWith(t, [{ itemId: mug, quantity: 1 }]);
    const second = await checkout(t, again, "k2", { method: "card", cardNumber: "4242424242424242" }, {});
    expect(second.json.order.customerId).toBe(done.json.order.customerId);
    // A fresh key on an emptied cart: 422.
    const empty = await checkout(t, again, "k3", { method: "card", cardNumber: OK_CARD });
    expect(empty.status).toBe(422);
  });

  it("declined and failing cards: 402, order cancelled payment_failed, stock released once, cart kept, key taken over by another card", async () => {
    const t = await ctx.tenant();
    const mug = await insertItem(ctx.db, t.id, { published: true, stock: 5 });
    const session = await cartWith(t, [{ itemId: mug, quantity: 2 }]);
    for (const [card, reason, retryable] of [[DECLINED, "card_declined", false], ["4000 0000 0000 9995", "insufficient_funds", false], ["4000000000000119", "processing_error", true]] as const) {
      const r = await checkout(t, session, "same-key", { method: "card", cardNumber: card });
      expect(r.status).toBe(402);
      const e = errorOf(r);
      expect(e.code).toBe("payment_failed");
      expect(e.details![0]).toMatchObject({ path: "payment", reason, retryable });
      const orderId = (e.details![0] as unknown as { orderId: string }).orderId;
      const rows = await query(ctx.db, sql`SELECT o.status, o.cancel_reason, p.status AS payment, (SELECT count(*) FROM stock_movements m WHERE m.order_id = o.id AND m.reason = 'release')::int AS releases FROM orders o JOIN payments p ON p.order_id = o.id WHERE o.id = ${orderId}`);
      expect(rows[0]).toMatchObject({ status: "cancelled", cancel_reason: "payment_failed", payment: "failed", releases: 1 });
    }
    expect(await ledger(ctx.db, mug)).toEqual({ stock: 5, moved: 0 });
    expect((await call("GET", `/api/store/${t.slug}/cart`, { headers: { "x-session-id": session } })).json.items).toHaveLength(1);
    // The same request again replays the recorded failure: no second order.
    const again = await checkout(t, session, "same-key", { method: "card", cardNumber: "4000000000000119" });
    expect(again.status).toBe(402);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    expect(errorOf(again).details![0]).toMatchObject({ reason: "processing_error" });
    const count = async () => Number((await query(ctx.db, sql`SELECT count(*) AS n FROM orders WHERE tenant_id = ${t.id}`))[0]!.n);
    expect(await count()).toBe(3);
    // The failure is recorded with the key, but another request (a good card) takes it over.
    const good = await checkout(t, session, "same-key", { method: "card", cardNumber: OK_CARD });
    expect(good.status).toBe(201);
    expect(good.headers.get("idempotent-replayed")).toBeNull();
    expect(await ledger(ctx.db, mug)).toEqual({ stock: 3, moved: -2 });
    expect((await checkout(t, session, "same-key", { method: "card", cardNumber: OK_CARD })).json.order.id).toBe(good.json.order.id);
    // ...and a declined card after that success is another request: 422, nothing made.
    expect(errorOf(await checkout(t, session, "same-key", { method: "card", cardNumber: DECLINED })).code).toBe("idempotency_mismatch");
    expect(await count()).toBe(4);
  });

  it("concurrent declined checkouts with one key make one cancelled order and all answer its 402", async () => {
    const t = await ctx.tenant();
    const mug = await insertItem(ctx.db, t.id, { published: true, stock: 5 });
    const session = await cartWith(t, [{ itemId: mug, quantity: 1 }]);
    const results = await Promise.all(Array.from({ length: 8 }, () => checkout(t, session, "one-key", { method: "card", cardNumber: DECLINED })));
    expect(results.map((r) => r.status)).toEqual(results.map(() => 402));
    const ids = new Set(results.map((r) => (errorOf(r).details![0] as unknown as { orderId: string }).orderId));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.headers.get("idempotent-replayed") !== "true")).toHaveLength(1);
    const rows = await query(ctx.db, sql`SELECT count(*)::int AS orders, (SELECT count(*) FROM stock_movements WHERE item_id = ${mug} AND reason = 'release')::int AS releases FROM orders WHERE tenant_id = ${t.id}`);
    expect(rows[0]).toEqual({ orders: 1, releases: 1 });
    expect(await ledger(ctx.db, mug)).toEqual({ stock: 5, moved: 0 });
  });

  it("pay_later holds the stock until reservedUntil", async () => {
    const t = await ctx.tenant();
    const mug = await insertItem(ctx.db, t.id, { published: true, stock: 5 });
    const session = await cartWith(t, [{ itemId: mug, quantity: 1 }]);
    const r = await checkout(t, session, "later", { method: "pay_later" });
    expect(r.status).toBe(201);
    expect(r.json.order.status).toBe("pending");
    expect(r.json.payment).toMatchObject({ method: "pay_later", status: "pending" });
    const minutes = (Date.parse(r.json.reservedUntil) - Date.now()) / 60_000;
    expect(minutes).toBeGreaterThan(13);
    expect(minutes).toBeLessThan(16);
    expect(await ledger(ctx.db, mug)).toEqual({ stock: 4, moved: -1 });
    // A replay shows the same reservation.
    const replay = await checkout(t, session, "later", { method: "pay_later" });
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.json).toEqual(r.json);
  });

  it("409 cart_changed when a price moved (then checking out again confirms), 409 insufficient_stock listing lines", async () => {
    const t = await ctx.tenant();
    const mug = await insertItem(ctx.db, t.id, { published: true, stock: 5, priceCents: 1000 });
    const bowl = await insertItem(ctx.db, t.id, { published: true, stock: 1 });
    const session = await cartWith(t, [{ itemId: mug, quantity: 1 }, { itemId: bowl, quantity: 1 }]);
    await query(ctx.db, sql`UPDATE items SET price_cents = 1100 WHERE id = ${mug}`);
    const changed = await checkout(t, session, "c1", { method: "card", cardNumber: OK_CARD });
    expect(changed.status).toBe(409);
    expect(errorOf(changed)).toMatchObject({ code: "cart_changed", details: [{ itemId: mug, seenPriceCents: 1000, priceCents: 1100 }] });
    expect(await ledger(ctx.db, mug)).toEqual({ stock: 5, moved: 0 });
    await query(ctx.db, sql`UPDATE items SET stock = 0 WHERE id = ${bowl}`);
    const short = await checkout(t, session, "c1", { method: "card", cardNumber: OK_CARD });
    expect(short.status).toBe(409);
    expect(errorOf(short)).toMatchObject({ code: "insufficient_stock", details: [{ itemId: bowl, requested: 1, available: 0 }] });
    expect(await ledger(ctx.db, mug)).toEqual({ stock: 5, moved: 0 });
    await query(ctx.db, sql`UPDATE items SET stock = 1 WHERE id = ${bowl}`);
    const ok = await checkout(t, session, "c1", { method: "card", cardNumber: OK_CARD });
    expect(ok.status).toBe(201);
    expect(ok.json.order.totalCents).toBe(1100 + 500);
  });

  it("bad input: 4xx in the error shape, nothing reserved", async () => {
    const t = await ctx.tenant();
    const mug = await insertItem(ctx.db, t.id, { published: true, stock: 5 });
    const session = await cartWith(t, [{ itemId: mug, quantity: 1 }]);
    const bodies: [unknown, number][] = [
      [{ customer: CUSTOMER, payment: { method: "card", cardNumber: "4242 4242 4242 424X" } }, 422],
      [{ customer: CUSTOMER, payment: { method: "card", cardNumber: "4242" } }, 422],
      [{ customer: CUSTOMER, payment: { method: "cash" } }, 422],
      [{ customer: { name: "x".repeat(10_000), email: "a@b.co" }, payment: { method: "pay_later" } }, 422],
      [{ customer: { name: "A\u0000", email: "a@b.co" }, payment: { method: "pay_later" } }, 422],
      [{ customer: { name: "A", email: "nope" }, payment: { method: "pay_later" } }, 422],
      [{ payment: { method: "pay_later" } }, 422],
    ];
    for (const [body, status] of bodies) {
      const r = await call("POST", `/api/store/${t.slug}/checkout`, { body, headers: { "x-session-id": session, "idempotency-key": `bad-${Math.random()}` } });
      expect(r.status).toBe(status);
      errorOf(r);
    }
    const noKey = await call("POST", `/api/store/${t.slug}/checkout`, { body: { customer: CUSTOMER, payment: { method: "pay_later" } }, headers: { "x-session-id": session } });
    expect(noKey.status).toBe(400);
    const noCart = await call("POST", `/api/store/${t.slug}/checkout`, { body: { customer: CUSTOMER, payment: { method: "pay_later" } }, headers: { "idempotency-key": "x" } });
    expect(noCart.status).toBe(422);
    const dashes = await checkout(t, session, "dash", { method: "card", cardNumber: "4242-4242-4242-4242" });
    expect(dashes.status).toBe(201);
    expect(await ledger(ctx.db, mug)).toEqual({ stock: 4, moved: -1 });
  });
});

// The flash sale: every checkout its own session and key, all at once.
describe.each(dbTargets())("storefront flash sale on %s", (name) => {
  const ctx = withTarget(name);
  const real = name === "node-postgres" || name === "neon-http→postgres";
  // Issue 14's 500 buyers on real Postgres (FLASH_BUYERS to change). The order statement refuses a
  // line its snapshot already shows short without waiting for the item's row lock, and takes an order
  // number only when every line got its stock, so once the stock is gone late buyers get their 409 at
  // once instead of queueing behind the item and the order counter (which made 500 pass the 30 s
  // statement limit: 503). Measured here (2 cores, loaded): ~8 s node-postgres, ~14 s neon-http, setup included.
  const [stock, buyers] = real ? [100, Number(process.env.FLASH_BUYERS ?? 500)] : [10, 50];

  for (const declineShare of [0, 0.3]) {
    it(`stock ${stock}, ${buyers} concurrent checkouts, ${declineShare * 100}% declined cards: exactly the stock sold`, async () => {
      const t = await ctx.tenant();
      const item = await insertItem(ctx.db, t.id, { published: true, stock, priceCents: 999 });
      const sessions = await Promise.all(Array.from({ length: buyers }, () => cartWith(t, [{ itemId: item, quantity: 1 }])));
      const cards = sessions.map((_, i) => (i % 10 < declineShare * 10 ? DECLINED : OK_CARD));
      const results = await Promise.all(sessions.map((s, i) => checkout(t, s, `flash-${i}`, { method: "card", cardNumber: cards[i] })));
      const statuses = results.map((r) => r.status);
      expect(statuses.filter((s) => s >= 500)).toEqual([]);
      const confirmed = statuses.filter((s) => s === 201).length;
      const short = statuses.filter((s) => s === 409).length;
      const declined = statuses.filter((s) => s === 402).length;
      expect(confirmed + short + declined).toBe(buyers);
      if (declineShare === 0) expect([confirmed, short]).toEqual([stock, buyers - stock]);
      else expect(confirmed).toBe(Math.min(stock, buyers - cards.filter((c) => c === DECLINED).length));
      const { stock: left, moved } = await ledger(ctx.db, item);
      expect(left).toBe(stock - confirmed);
      expect(moved).toBe(-confirmed);
      const rows = await query(ctx.db, sql`SELECT
        (SELECT count(*) FROM payments WHERE tenant_id = ${t.id} AND status = 'succeeded')::int AS paid,
        (SELECT count(*) FROM payments WHERE tenant_id = ${t.id} AND status = 'failed')::int AS failed,
        (SELECT count(*) FROM orders WHERE tenant_id = ${t.id} AND status = 'confirmed')::int AS confirmed,
        (SELECT count(*) FROM orders WHERE tenant_id = ${t.id} AND status = 'pending')::int AS pending,
        (SELECT count(*) FROM stock_movements WHERE tenant_id = ${t.id} AND reason = 'release')::int AS releases`);
      expect(rows[0]).toEqual({ paid: confirmed, failed: declined, confirmed, pending: 0, releases: declined });
    }, 240_000);
  }
});
