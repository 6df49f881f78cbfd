import { sql } from "drizzle-orm/sql/sql";
import { afterEach, describe, expect, it } from "vitest";
import { query } from "../db/atomic.js";
import { call, errorOf } from "./support/client.js";
import { insertItem, insertLot, insertPurchaseOrder, insertSupplier } from "./support/fixtures.js";
import { readAfter } from "../lib/events/repo.js";
import { START } from "../lib/events/cursor.js";
import { EVENT_TYPES } from "../lib/events/catalog.js";
import { eventsSettled } from "./support/events.js";
import { validate } from "./support/json-schema.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

// Lots and expiry (issue 15): receipts into lots, FEFO in the order statement, lots given back by
// edits and cancels, the expire-lots cron, expiring-soon, stock-takes of a lot.
const SECRET = "cron-secret-for-tests-0123456789";

describe.each(dbTargets())("lots on %s", (name) => {
  const ctx = withTarget(name);
  const batch = (statements: number) => (ctx.kind === "node-postgres" ? statements + 2 : 1);
  const one = async (q: ReturnType<typeof sql>) => (await query(ctx.db, q))[0]!;
  const configuredSecret = process.env.CRON_SECRET;
  afterEach(() => {
    if (configuredSecret === undefined) delete process.env.CRON_SECRET;
    else process.env.CRON_SECRET = configuredSecret;
  });

  async function shop() {
    const t = await ctx.tenant();
    // Warm the membership cache, so round-trip counts below are the request's own.
    for (const role of ["admin", "staff"] as const) expect((await call("GET", "/api/suppliers", { token: t.users[role].token })).status).toBe(200);
    return { t, admin: t.users.admin.token, staff: t.users.staff.token };
  }
  /** The tenant's today + n days (its timezone, from the database's clock). */
  const day = async (tenantId: string, n: number) =>
    String((await one(sql`SELECT ((now() AT TIME ZONE timezone)::date + ${n}::int)::text AS d FROM tenants WHERE id = ${tenantId}`)).d);
  const itemRow = async (id: string) => {
    const r = await one(sql`SELECT stock, lot_stock, (SELECT coalesce(sum(quantity), 0) FROM lots WHERE item_id = ${id}) AS lots,
      (SELECT coalesce(sum(delta), 0) FROM stock_movements WHERE item_id = ${id}) AS ledger FROM items WHERE id = ${id}`);
    return { stock: Number(r.stock), lotStock: Number(r.lot_stock), lots: Number(r.lots), ledger: Number(r.ledger) };
  };
  const lotQty = async (id: string) => Number((await one(sql`SELECT quantity FROM lots WHERE id = ${id}`)).quantity);
  const allocations = async (orderId: string) =>
    Object.fromEntries((await query(ctx.db, sql`SELECT l.lot_code, a.quantity FROM order_lot_allocations a JOIN lots l ON l.id = a.lot_id WHERE a.order_id = ${orderId}`)).map((r) => [String(r.lot_code), Number(r.quantity)]));
  /** stock = Σ lots + unlotted (unlotted ≥ 0), and stock = initial + Σ ledger. */
  async function consistent(id: string, initial: number) {
    const r = await itemRow(id);
    expect(r.lots).toBe(r.lotStock);
    expect(r.stock - r.lotStock).toBeGreaterThanOrEqual(0);
    expect(r.stock).toBe(initial + r.ledger);
    return r;
  }

  it("receives into lots, sells FEFO (never an expired lot), and edits and cancels give back to the lots taken", async () => {
    const s = await shop();
    const milk = await insertItem(ctx.db, s.t.id, { name: "Milk", stock: 3 });
    const old = await insertLot(ctx.db, s.t.id, milk, { code: "OLD", expiresOn: await day(s.t.id, -1), quantity: 4 });
    const initial = 7;
    const po = await insertPurchaseOrder(ctx.db, s.t, "ordered", { itemId: milk, quantity: 100 });
    const in10 = await day(s.t.id, 10);
    const in20 = await day(s.t.id, 20);

    const received = await call("POST", `/api/purchase-orders/${po.id}/receipts`, {
      token: s.staff,
      body: { lines: [{ itemId: milk, quantity: 5, lotCode: "B", expiresOn: in20 }, { itemId: milk, quantity: 6, lotCode: "A", expiresOn: in10 }] },
    });
    expect(received.status).toBe(201);
    expect(received.dbTrips).toBe(batch(2));
    expect(received.json.receipt.lines).toMatchObject([
      { itemId: milk, quantity: 5, lotCode: "B", expiresOn: in20 },
      { itemId: milk, quantity: 6, lotCode: "A", expiresOn: in10 },
    ]);
    expect(received.json.purchaseOrder.lines[0].receivedQuantity).toBe(11);
    const lotA = received.json.receipt.lines[1].lotId as string;
    const lotB = received.json.receipt.lines[0].lotId as string;
    // Topping up lot A (expiry omitted: the lot's own).
    const topped = await call("POST", `/api/purchase-orders/${po.id}/receipts`, { token: s.staff, body: { lines: [{ itemId: milk, quantity: 2, lotCode: "A" }] } });
    expect(topped.status).toBe(201);
    expect(topped.json.receipt.lines[0]).toMatchObject({ lotId: lotA, expiresOn: in10 });
    expect(await lotQty(lotA)).toBe(8);
    expect(await consistent(milk, initial)).toMatchObject({ stock: 20, lotStock: 17 });

    // Refused, nothing written: another expiry for an existing code; an expiry in the past; a lot twice.
    const mismatch = await call("POST", `/api/purchase-orders/${po.id}/receipts`, { token: s.staff, body: { lines: [{ itemId: milk, quantity: 1, lotCode: "A", expiresOn: in20 }] } });
    expect(mismatch.status).toBe(422);
    expect(errorOf(mismatch).details).toMatchObject([{ path: "lines.0.expiresOn" }]);
    const past = await call("POST", `/api/purchase-orders/${po.id}/receipts`, { token: s.staff, body: { lines: [{ itemId: milk, quantity: 1 }, { itemId: milk, quantity: 1, expiresOn: await day(s.t.id, -2) }] } });
    expect(past.status).toBe(422);
    expect(errorOf(past).details).toMatchObject([{ path: "lines.1.expiresOn" }]);
    const twice = await call("POST", `/api/purchase-orders/${po.id}/receipts`, { token: s.staff, body: { lines: [{ itemId: milk, quantity: 1, lotCode: "C" }, { itemId: milk, quantity: 1, lotCode: "C" }] } });
    expect(twice.status).toBe(422);
    expect(await consistent(milk, initial)).toMatchObject({ stock: 20, lotStock: 17 });

    // Sellable: 3 unlotted + 8 (A) + 5 (B); the 4 of the expired lot are not.
    const tooMany = await call("POST", "/api/orders", { token: s.staff, body: { channel: "web", items: [{ itemId: milk, quantity: 17 }] } });
    expect(tooMany.status).toBe(409);
    expect(errorOf(tooMany).details).toMatchObject([{ itemId: milk, requested: 17, available: 16 }]);

    // FEFO: A (earliest) first, then B.
    const order = await call("POST", "/api/orders", { token: s.staff, body: { channel: "web", items: [{ itemId: milk, quantity: 10 }] } });
    expect(order.status).toBe(201);
    expect(order.dbTrips).toBe(1);
    const id = order.json.id as string;
    expect(await allocations(id)).toEqual({ A: 8, B: 2 });
    expect(await consistent(milk, initial)).toMatchObject({ stock: 10, lotStock: 7 });

    // A line that grows takes FEFO too; one that shrinks gives back unlotted units first, then the latest-expiring lot.
    const grown = await call("PUT", `/api/orders/${id}`, { token: s.staff, body: { items: [{ itemId: milk, quantity: 12 }] } });
    expect(grown.status).toBe(200);
    expect(await allocations(id)).toEqual({ A: 8, B: 4 });
    const shrunk = await call("PUT", `/api/orders/${id}`, { token: s.staff, body: { items: [{ itemId: milk, quantity: 5 }] } });
    expect(shrunk.status).toBe(200);
    expect(await allocations(id)).toEqual({ A: 5 });
    expect([await lotQty(lotA), await lotQty(lotB), await lotQty(old)]).toEqual([3, 5, 4]);
    expect(await consistent(milk, initial)).toMatchObject({ stock: 15, lotStock: 12 });

    // Cancel: every unit back to its lot.
    const cancelled = await call("POST", `/api/orders/${id}/cancel`, { token: s.staff });
    expect(cancelled.status).toBe(200);
    expect(await allocations(id)).toEqual({});
    expect([await lotQty(lotA), await lotQty(lotB), await lotQty(old)]).toEqual([8, 5, 4]);
    expect(await consistent(milk, initial)).toMatchObject({ stock: 20, lotStock: 17 });

    // Everything sellable, then nothing: the expired lot stays unsold.
    const all = await call("POST", "/api/orders", { token: s.staff, body: { channel: "web", items: [{ itemId: milk, quantity: 16 }] } });
    expect(all.status).toBe(201);
    expect(await allocations(all.json.id)).toEqual({ A: 8, B: 5 });
    const none = await call("POST", "/api/orders", { token: s.staff, body: { channel: "web", items: [{ itemId: milk, quantity: 1 }] } });
    expect(none.status).toBe(409);
    expect(errorOf(none).details).toMatchObject([{ available: 0 }]);
    expect(await consistent(milk, initial)).toMatchObject({ stock: 4, lotStock: 4 });

    // Units in lots move only with lots: an adjustment takes unlotted units, a set cannot go below the lots.
    const adjust = await call("POST", `/api/items/${milk}/stock-adjustments`, { token: s.admin, body: { delta: -1, reason: "broken" } });
    expect(adjust.status).toBe(409);
    expect(errorOf(adjust).details).toMatchObject([{ available: 0 }]);
    const seen = await call("GET", `/api/items/${milk}`, { token: s.admin });
    const set = await call("PUT", `/api/items/${milk}`, { token: s.admin, body: { stock: 2 }, headers: { "if-match": seen.headers.get("etag")! } });
    expect(set.status).toBe(409);
    expect(errorOf(set).code).toBe("insufficient_stock");
    const up = await call("PUT", `/api/items/${milk}`, { token: s.admin, body: { stock: 9 }, headers: { "if-match": seen.headers.get("etag")! } });
    expect(up.status).toBe(200);
    expect(await consistent(milk, initial)).toMatchObject({ stock: 9, lotStock: 4 });
  });

  it("expire-lots writes expired lots off exactly once, even when runs race", async () => {
    process.env.CRON_SECRET = SECRET;
    const s = await shop();
    const jam = await insertItem(ctx.db, s.t.id, { name: "Jam", stock: 2, lowStockThreshold: 3 });
    const a = await insertLot(ctx.db, s.t.id, jam, { code: "J1", expiresOn: await day(s.t.id, -3), quantity: 4 });
    const b = await insertLot(ctx.db, s.t.id, jam, { code: "J2", expiresOn: await day(s.t.id, -1), quantity: 5 });
    const fresh = await insertLot(ctx.db, s.t.id, jam, { code: "J3", expiresOn: await day(s.t.id, 0), quantity: 6 });
    const initial = 17;

    const runs = await Promise.all(Array.from({ length: 6 }, (_, i) => call(i % 2 ? "POST" : "GET", "/api/cron/expire-lots", { headers: { authorization: `Bearer ${SECRET}` } })));
    for (const r of runs) {
      expect(r.status).toBe(200);
      expect(r.dbTrips).toBe(1);
    }
    expect(runs.reduce((n, r) => n + r.json.units, 0)).toBeGreaterThanOrEqual(9);
    expect([await lotQty(a), await lotQty(b), await lotQty(fresh)]).toEqual([0, 0, 6]);
    const expired = await query(ctx.db, sql`SELECT lot_id, delta FROM stock_movements WHERE item_id = ${jam} AND reason = 'expired' ORDER BY delta`);
    expect(expired.map((m) => [String(m.lot_id), Number(m.delta)])).toEqual([
      [b, -5],
      [a, -4],
    ]);
    expect(await consistent(jam, initial)).toMatchObject({ stock: 8, lotStock: 6 });
    // Version: one step per ledger row.
    expect(Number((await one(sql`SELECT version FROM items WHERE id = ${jam}`)).version)).toBe(3);

    await eventsSettled(ctx.db, s.t.id);
    const events = (await readAfter(ctx.db, s.t.id, START, 1000)).events.filter((e) => e.type === "lot.expired");
    expect(events.map((e) => e.resource.id).sort()).toEqual([a, b].sort());
    for (const e of events) expect(validate(EVENT_TYPES["lot.expired"].data as never, e.data)).toEqual([]);
    expect(events.every((e) => e.actor.type === "system")).toBe(true);

    // Again, for this tenant only (?tenant=): nothing left to write off.
    const again = await call("POST", `/api/cron/expire-lots?tenant=${s.t.id}`, { headers: { authorization: `Bearer ${SECRET}` } });
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ lots: 0, units: 0, tenants: 0 });
    expect((await call("POST", "/api/cron/expire-lots?tenant=nope", { headers: { authorization: `Bearer ${SECRET}` } })).status).toBe(400);
    expect(Number((await one(sql`SELECT count(*) AS n FROM stock_movements WHERE item_id = ${jam} AND reason = 'expired'`)).n)).toBe(2);
  });

  it("lists lots expiring soon by expiry, with value at the preferred supplier's cost; bad days and cursors are 400", async () => {
    const s = await shop();
    const tea = await insertItem(ctx.db, s.t.id, { name: "Tea", stock: 0 });
    const soap = await insertItem(ctx.db, s.t.id, { name: "Soap", stock: 0 });
    const supplier = await insertSupplier(ctx.db, s.t.id);
    expect((await call("PUT", `/api/items/${tea}/suppliers/${supplier}`, { token: s.admin, body: { unitCostCents: 250, preferred: true } })).status).toBe(200);
    const gone = await insertLot(ctx.db, s.t.id, tea, { code: "T0", expiresOn: await day(s.t.id, -1), quantity: 2 });
    const soon = await insertLot(ctx.db, s.t.id, tea, { code: "T5", expiresOn: await day(s.t.id, 5), quantity: 4 });
    const later = await insertLot(ctx.db, s.t.id, soap, { code: "S40", expiresOn: await day(s.t.id, 40), quantity: 3 });
    await insertLot(ctx.db, s.t.id, soap, { code: "S-none", expiresOn: null, quantity: 9 });
    await insertLot(ctx.db, s.t.id, soap, { code: "S-empty", expiresOn: await day(s.t.id, 1), quantity: 0 });

    const list = await call("GET", "/api/items/expiring-soon", { token: s.staff });
    expect(list.status).toBe(200);
    expect(list.dbTrips).toBe(1);
    expect(list.json.days).toBe(30);
    expect(list.json.items).toEqual([
      { lotId: gone, lotCode: "T0", expiresOn: await day(s.t.id, -1), daysLeft: -1, expired: true, quantity: 2, item: { id: tea, name: "Tea", sku: expect.any(String) }, unitCostCents: 250, valueCents: 500 },
      { lotId: soon, lotCode: "T5", expiresOn: await day(s.t.id, 5), daysLeft: 5, expired: false, quantity: 4, item: { id: tea, name: "Tea", sku: expect.any(String) }, unitCostCents: 250, valueCents: 1000 },
    ]);
    const wider = await call("GET", "/api/items/expiring-soon?days=60&limit=10", { token: s.staff });
    expect(wider.json.items.map((l: { lotId: string }) => l.lotId)).toEqual([gone, soon, later]);
    expect(wider.json.items[2]).toMatchObject({ unitCostCents: null, valueCents: null });

    // Keyset pages visit every lot once.
    for (let i = 0; i < 11; i++) await insertLot(ctx.db, s.t.id, soap, { code: `P${i}`, expiresOn: await day(s.t.id, 2), quantity: 1 });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Awaited<ReturnType<typeof call>> = await call("GET", `/api/items/expiring-soon?limit=10${cursor ? `&cursor=${cursor}` : ""}`, { token: s.staff });
      expect(page.status).toBe(200);
      seen.push(...page.json.items.map((l: { lotId: string }) => l.lotId));
      cursor = page.json.pagination.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(13);
    expect(new Set(seen).size).toBe(13);

    for (const bad of ["days=0", "days=366", "days=1.5", "days=abc", "cursor=garbage", "limit=7", "extra=1"]) {
      const r = await call("GET", `/api/items/expiring-soon?${bad}`, { token: s.staff });
      expect(r.status, bad).toBe(400);
    }
    // Another tenant sees none of them.
    const other = await shop();
    expect((await call("GET", "/api/items/expiring-soon?days=365", { token: other.staff })).json.items).toEqual([]);
  });

  it("counts a lot in a stock-take (lotId): counted − snapshot moves the lot and its item; a foreign lot is 422", async () => {
    const s = await shop();
    const rice = await insertItem(ctx.db, s.t.id, { name: "Rice", stock: 5 });
    const lot = await insertLot(ctx.db, s.t.id, rice, { code: "R1", expiresOn: await day(s.t.id, 30), quantity: 10 });
    const initial = 15;
    const started = await call("POST", "/api/stock-takes", {
      token: s.admin,
      body: { lines: [{ itemId: rice, lotId: lot, countedQuantity: 7 }, { itemId: rice, countedQuantity: 6 }] },
    });
    expect(started.status).toBe(201);
    expect(started.json.lines).toMatchObject([
      { lotId: lot, lotCode: "R1", expectedQuantity: 10, variance: -3 },
      { lotId: null, lotCode: null, expectedQuantity: 5, variance: 1 },
    ]);
    // While counting, 4 are sold (FEFO: from the lot).
    expect((await call("POST", "/api/orders", { token: s.staff, body: { channel: "web", items: [{ itemId: rice, quantity: 4 }] } })).status).toBe(201);
    const applied = await call("POST", `/api/stock-takes/${started.json.id}/apply`, { token: s.admin });
    expect(applied.status).toBe(200);
    expect(applied.json.lines).toMatchObject([
      { lotId: lot, stockAtApply: 6, movedSinceSnapshot: -4, appliedDelta: -3 },
      { lotId: null, stockAtApply: 5, appliedDelta: 1 },
    ]);
    expect(await lotQty(lot)).toBe(3);
    expect(await consistent(rice, initial)).toMatchObject({ stock: 9, lotStock: 3 });
    expect((await query(ctx.db, sql`SELECT lot_id FROM stock_movements WHERE item_id = ${rice} AND reason = 'count' ORDER BY delta`)).map((m) => m.lot_id)).toEqual([lot, null]);

    const otherItem = await insertItem(ctx.db, s.t.id);
    const foreign = await call("POST", "/api/stock-takes", { token: s.admin, body: { lines: [{ itemId: otherItem, lotId: lot, countedQuantity: 1 }] } });
    expect(foreign.status).toBe(422);
    expect(errorOf(foreign).details).toMatchObject([{ path: "lines.0.lotId" }]);
  });

  it("concurrent orders, receipts into new and existing lots and cancels keep stock = Σ lots + unlotted, no lot negative", async () => {
    const s = await shop();
    const eggs = await insertItem(ctx.db, s.t.id, { name: "Eggs", stock: 6 });
    await insertLot(ctx.db, s.t.id, eggs, { code: "E1", expiresOn: await day(s.t.id, 3), quantity: 6 });
    await insertLot(ctx.db, s.t.id, eggs, { code: "E0", expiresOn: await day(s.t.id, -1), quantity: 5 });
    const initial = 17;
    const po = await insertPurchaseOrder(ctx.db, s.t, "ordered", { itemId: eggs, quantity: 1000 });
    const codes = ["E1", "E2", "E3"];
    const expiries = [await day(s.t.id, 3), await day(s.t.id, 9), await day(s.t.id, 6)];
    const answers = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        if (i % 5 === 0) {
          const k = (i / 5) % 3;
          return call("POST", `/api/purchase-orders/${po.id}/receipts`, { token: s.staff, body: { lines: [{ itemId: eggs, quantity: 3, lotCode: codes[k], expiresOn: expiries[k] }] } });
        }
        const made = await call("POST", "/api/orders", { token: s.staff, body: { channel: "web", items: [{ itemId: eggs, quantity: 1 + (i % 3) }] } });
        if (made.status === 201 && i % 4 === 0) return call("POST", `/api/orders/${made.json.id}/cancel`, { token: s.staff });
        return made;
      }),
    );
    for (const a of answers) expect([200, 201, 409]).toContain(a.status);
    expect(answers.some((a) => a.status === 201)).toBe(true);
    const r = await consistent(eggs, initial);
    expect(Number((await one(sql`SELECT min(quantity) AS m FROM lots WHERE item_id = ${eggs}`)).m)).toBeGreaterThanOrEqual(0);
    // The expired lot was never sold; live orders' allocations never exceed their lines.
    expect(Number((await one(sql`SELECT count(*) AS n FROM order_lot_allocations a JOIN lots l ON l.id = a.lot_id WHERE l.item_id = ${eggs} AND l.lot_code = 'E0'`)).n)).toBe(0);
    expect(Number((await one(sql`SELECT quantity FROM lots WHERE item_id = ${eggs} AND lot_code = 'E0'`)).quantity)).toBe(5);
    const over = await one(sql`SELECT count(*) AS n FROM order_lines ol WHERE ol.item_id = ${eggs}
      AND ol.quantity < (SELECT coalesce(sum(a.quantity), 0) FROM order_lot_allocations a WHERE a.order_id = ol.order_id AND a.item_id = ol.item_id)`);
    expect(Number(over.n)).toBe(0);
    expect(r.stock).toBeGreaterThanOrEqual(5);
  });

  it("orders racing cancels, edits, lot counts and receipts on the same lots: no 5xx, no constraint error, lots and lot_stock agree", async () => {
    const s = await shop();
    const oats = await insertItem(ctx.db, s.t.id, { name: "Oats", stock: 10 });
    const lotIds = [
      await insertLot(ctx.db, s.t.id, oats, { code: "A", expiresOn: await day(s.t.id, 3), quantity: 20 }),
      await insertLot(ctx.db, s.t.id, oats, { code: "B", expiresOn: await day(s.t.id, 6), quantity: 20 }),
    ];
    const initial = 50;
    const po = await insertPurchaseOrder(ctx.db, s.t, "ordered", { itemId: oats, quantity: 100_000 });
    const orders: string[] = [];
    for (let i = 0; i < 6; i++) orders.push((await call("POST", "/api/orders", { token: s.staff, body: { channel: "web", items: [{ itemId: oats, quantity: 2 }] } })).json.id);
    const dates = { A: await day(s.t.id, 3), C: await day(s.t.id, 4) };
    const answers = await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        if (i % 3 !== 0) return call("POST", "/api/orders", { token: s.staff, body: { channel: "web", items: [{ itemId: oats, quantity: 1 + (i % 3) }] } });
        const order = orders[(i / 3) % 6]!;
        switch ((i / 3) % 4) {
          case 0:
            return call("POST", `/api/orders/${order}/cancel`, { token: s.staff });
          case 1:
            return call("PUT", `/api/orders/${order}`, { token: s.staff, body: { items: [{ itemId: oats, quantity: 1 + (i % 5) }] } });
          case 2: {
            const code = i % 2 ? "A" : "C";
            return call("POST", `/api/purchase-orders/${po.id}/receipts`, { token: s.staff, body: { lines: [{ itemId: oats, quantity: 2, lotCode: code, expiresOn: dates[code] }] } });
          }
          default: {
            const take = await call("POST", "/api/stock-takes", { token: s.admin, body: { lines: [{ itemId: oats, lotId: lotIds[i % 2], countedQuantity: 5 }, { itemId: oats, countedQuantity: 3 }] } });
            return call("POST", `/api/stock-takes/${take.json.id}/apply`, { token: s.admin });
          }
        }
      }),
    );
    const bad = answers.filter((a) => a.status >= 500 || /concurrent change|conflicts with the current state/.test(a.json?.error?.message ?? ""));
    expect(bad.map((a) => `${a.status} ${a.json?.error?.message}`)).toEqual([]);
    expect(answers.filter((a) => a.status === 201).length).toBeGreaterThan(10);
    await consistent(oats, initial);
    expect(Number((await one(sql`SELECT min(quantity) AS m FROM lots WHERE item_id = ${oats}`)).m)).toBeGreaterThanOrEqual(0);
  });
});
