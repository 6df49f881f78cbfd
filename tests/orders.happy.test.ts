import { sql } from "drizzle-orm/sql/sql";
import { describe, expect, it } from "vitest";
import { query } from "../db/atomic.js";
import { call } from "./support/client.js";
import { insertItem } from "./support/fixtures.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

describe.each(dbTargets())("orders on %s", (name) => {
  const ctx = withTarget(name);
  const stockOf = async (id: string) => Number((await query(ctx.db, sql`SELECT stock FROM items WHERE id = ${id}`))[0]!.stock);
  const ledger = async (id: string) => Number((await query(ctx.db, sql`SELECT coalesce(sum(delta), 0) AS s FROM stock_movements WHERE item_id = ${id}`))[0]!.s);

  it("creates an order: snapshots, totals, stock decremented with ledger rows, numbered from 1001", async () => {
    const t = await ctx.tenant();
    const staff = t.users.staff.token;
    const mug = await insertItem(ctx.db, t.id, { name: "Mug", stock: 10 });
    const tea = await insertItem(ctx.db, t.id, { name: "Tea", stock: 5 });
    const created = await call("POST", "/api/orders", {
      token: staff,
      body: {
        channel: "instagram",
        items: [{ itemId: mug, quantity: 2 }, { itemId: tea, quantity: 1 }, { itemId: mug, quantity: 1 }],
        customer: { name: "Ana", phone: "+1 555 0100", socialHandle: "@ana" },
        priority: "high",
        expectedDeliveryDate: new Date(Date.now() + 3 * 86400_000).toISOString().slice(0, 10),
        notes: "gift wrap",
      },
    });
    expect(created.status).toBe(201);
    const order = created.json;
    expect(order).toMatchObject({ number: 1001, channel: "instagram", status: "pending", priority: "high", notes: "gift wrap", totalCents: 2000, units: 4, version: 1 });
    expect(order.lines).toEqual([
      { itemId: mug, name: "Mug", sku: expect.any(String), unitPriceCents: 500, quantity: 3, lineTotalCents: 1500 },
      { itemId: tea, name: "Tea", sku: expect.any(String), unitPriceCents: 500, quantity: 1, lineTotalCents: 500 },
    ]);
    expect(order.customer).toMatchObject({ name: "Ana", phone: "+1 555 0100", socialHandle: "@ana" });
    expect(order.customerId).toBe(order.customer.id);
    expect(created.headers.get("location")).toBe(`/api/orders/${order.id}`);
    expect(await stockOf(mug)).toBe(7);
    expect(await stockOf(tea)).toBe(4);
    expect(await ledger(mug)).toBe(-3);

    // The price snapshot survives a later price change.
    await call("PUT", `/api/items/${mug}`, { token: t.users.admin.token, body: { priceCents: 999 } });
    const read = await call("GET", `/api/orders/${order.id}`, { token: staff });
    expect(read.status).toBe(200);
    expect(read.json).toEqual(order);
    expect(read.headers.get("etag")).toBe('"v1"');

    const second = await call("POST", "/api/orders", { token: staff, body: { channel: "call", items: [{ itemId: tea, quantity: 1 }], customerId: order.customer.id } });
    expect(second.json).toMatchObject({ number: 1002, totalCents: 500, customer: { id: order.customer.id } });
    expect(second.json.lines[0].unitPriceCents).toBe(500);
  });

  it("walks the status machine and cancels with stock returned exactly once", async () => {
    const t = await ctx.tenant();
    const staff = t.users.staff.token;
    const item = await insertItem(ctx.db, t.id, { stock: 10 });
    const { id } = (await call("POST", "/api/orders", { token: staff, body: { channel: "whatsapp", items: [{ itemId: item, quantity: 4 }] } })).json;
    for (const status of ["confirmed", "preparing", "ready"]) {
      const moved = await call("PATCH", `/api/orders/${id}/status`, { token: staff, body: { status } });
      expect(moved.status, status).toBe(200);
      expect(moved.json.status).toBe(status);
    }
    const cancelled = await call("POST", `/api/orders/${id}/cancel`, { token: staff });
    expect(cancelled.status).toBe(200);
    expect(cancelled.json).toMatchObject({ status: "cancelled", version: 5 });
    expect(cancelled.json.cancelledAt).not.toBeNull();
    expect(await stockOf(item)).toBe(10);
    const again = await call("POST", `/api/orders/${id}/cancel`, { token: staff });
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe("invalid_transition");
    expect(await stockOf(item)).toBe(10);
    expect(await ledger(item)).toBe(0);

    const { id: other } = (await call("POST", "/api/orders", { token: staff, body: { channel: "offline", items: [{ itemId: item, quantity: 1 }] } })).json;
    for (const status of ["confirmed", "preparing", "ready", "completed"]) await call("PATCH", `/api/orders/${other}/status`, { token: staff, body: { status } });
    const done = await call("GET", `/api/orders/${other}`, { token: staff });
    expect(done.json.status).toBe("completed");
    expect(done.json.completedAt).not.toBeNull();
    expect((await call("POST", `/api/orders/${other}/cancel`, { token: staff })).status).toBe(409);
  });

  it("edits lines with stock re-balanced, keeping old snapshots and pricing new lines now", async () => {
    const t = await ctx.tenant();
    const staff = t.users.staff.token;
    const a = await insertItem(ctx.db, t.id, { name: "A", stock: 10 });
    const b = await insertItem(ctx.db, t.id, { name: "B", stock: 10 });
    const c = await insertItem(ctx.db, t.id, { name: "C", stock: 10 });
    const { id } = (await call("POST", "/api/orders", { token: staff, body: { channel: "web", items: [{ itemId: a, quantity: 2 }, { itemId: b, quantity: 3 }] } })).json;
    // Reprice both: the kept line keeps its snapshot (500), the new line is priced now (700).
    await call("PUT", `/api/items/${a}`, { token: t.users.admin.token, body: { priceCents: 700 } });
    await call("PUT", `/api/items/${c}`, { token: t.users.admin.token, body: { priceCents: 700 } });
    const edited = await call("PUT", `/api/orders/${id}`, {
      token: staff,
      headers: { "if-match": '"v1"' },
      body: { items: [{ itemId: a, quantity: 5 }, { itemId: c, quantity: 1 }], notes: "changed", priority: "urgent" },
    });
    expect(edited.status).toBe(200);
    expect(edited.json).toMatchObject({ version: 2, notes: "changed", priority: "urgent", units: 6, totalCents: 5 * 500 + 700 });
    expect(edited.json.lines.map((l: { itemId: string; quantity: number; unitPriceCents: number }) => [l.itemId, l.quantity, l.unitPriceCents])).toEqual([
      [a, 5, 500],
      [c, 1, 700],
    ]);
    expect([await stockOf(a), await stockOf(b), await stockOf(c)]).toEqual([5, 10, 9]);
    expect([await ledger(a), await ledger(b), await ledger(c)]).toEqual([-5, 0, -1]);

    const fieldsOnly = await call("PUT", `/api/orders/${id}`, { token: staff, body: { expectedDeliveryDate: null, notes: "" } });
    expect(fieldsOnly.json).toMatchObject({ version: 3, notes: null, expectedDeliveryDate: null, units: 6 });
    expect(fieldsOnly.json.lines).toHaveLength(2);
  });

  it("lists with filters, pages with totals, and keyset cursors that visit every order once", async () => {
    const t = await ctx.tenant();
    const staff = t.users.staff.token;
    const item = await insertItem(ctx.db, t.id, { stock: 1000 });
    const channels = ["instagram", "facebook", "whatsapp", "call", "offline", "web"];
    const ids: string[] = [];
    for (let i = 0; i < 23; i++) {
      const body = { channel: channels[i % 6], items: [{ itemId: item, quantity: 1 }], expectedDeliveryDate: i % 4 === 0 ? null : new Date(Date.now() + (i % 5) * 86400_000).toISOString().slice(0, 10) };
      ids.push((await call("POST", "/api/orders", { token: staff, body })).json.id);
    }
    await call("POST", `/api/orders/${ids[0]}/cancel`, { token: staff });

    const first = await call("GET", "/api/orders?limit=10", { token: staff });
    expect(first.json.pagination).toMatchObject({ page: 1, limit: 10, total: 23, totalPages: 3 });
    expect(first.json.items[0].id).toBe(ids[22]);
    expect(first.json.items[0].lines).toHaveLength(1);
    expect(first.dbTrips).toBe(1);

    const seen: string[] = [];
    let cursor: string | null = "";
    let trips = 0;
    while (cursor !== null) {
      const result = await call("GET", `/api/orders?limit=10${cursor ? `&cursor=${cursor}` : ""}`, { token: staff });
      trips = Math.max(trips, result.dbTrips);
      seen.push(...result.json.items.map((o: { id: string }) => o.id));
      cursor = result.json.pagination.nextCursor;
    }
    expect(seen).toEqual([...ids].reverse());
    expect(trips).toBe(1);

    const delivery: string[] = [];
    cursor = "";
    while (cursor !== null) {
      const result = await call("GET", `/api/orders?sort=delivery&limit=10${cursor ? `&cursor=${cursor}` : ""}`, { token: staff });
      delivery.push(...result.json.items.map((o: { expectedDeliveryDate: string | null }) => o.expectedDeliveryDate ?? "~"));
      cursor = result.json.pagination.nextCursor;
    }
    expect(delivery).toHaveLength(23);
    expect(delivery).toEqual([...delivery].sort());

    const insta = await call("GET", "/api/orders?channel=instagram,web&limit=50", { token: staff });
    expect(insta.json.items.every((o: { channel: string }) => ["instagram", "web"].includes(o.channel))).toBe(true);
    expect(insta.json.pagination.total).toBe(7); // i % 6 in {0, 5} for i < 23
    expect((await call("GET", "/api/orders?status=cancelled", { token: staff })).json.pagination.total).toBe(1);
    const today = new Date().toISOString().slice(0, 10);
    expect((await call("GET", `/api/orders?from=${today}&to=${today}`, { token: staff })).json.pagination.total).toBe(23);
    expect((await call("GET", "/api/orders?to=2000-01-01", { token: staff })).json.pagination.total).toBe(0);

    const all = await call("GET", "/api/orders/all", { token: staff });
    expect(all.json.items).toHaveLength(23);
    expect(all.json.count).toBe(23);
    const priority = await call("GET", "/api/orders/priority", { token: staff });
    expect(priority.json.items).toHaveLength(22); // the cancelled one is not open
    const dates = priority.json.items.map((o: { expectedDeliveryDate: string | null }) => o.expectedDeliveryDate ?? "~");
    expect(dates).toEqual([...dates].sort());
  });

  it("records manual stock adjustments in the ledger, idempotently", async () => {
    const t = await ctx.tenant();
    const admin = t.users.admin.token;
    const item = await insertItem(ctx.db, t.id, { stock: 3 });
    const headers = { "idempotency-key": "restock-1" };
    const first = await call("POST", `/api/items/${item}/stock-adjustments`, { token: admin, headers, body: { delta: 7, reason: "Delivery from supplier" } });
    expect(first.status).toBe(201);
    expect(first.json.item.stock).toBe(10);
    expect(first.json.movement).toMatchObject({ delta: 7, reason: "adjustment", note: "Delivery from supplier", itemId: item });
    const replay = await call("POST", `/api/items/${item}/stock-adjustments`, { token: admin, headers, body: { delta: 7, reason: "Delivery from supplier" } });
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.json.movement.id).toBe(first.json.movement.id);
    expect(await stockOf(item)).toBe(10);
    const mismatch = await call("POST", `/api/items/${item}/stock-adjustments`, { token: admin, headers, body: { delta: 8, reason: "Delivery from supplier" } });
    expect(mismatch.status).toBe(422);
    expect(mismatch.json.error.code).toBe("idempotency_mismatch");
    const tooMuch = await call("POST", `/api/items/${item}/stock-adjustments`, { token: admin, body: { delta: -11, reason: "Broken" } });
    expect(tooMuch.status).toBe(409);
    expect(tooMuch.json.error).toMatchObject({ code: "insufficient_stock", details: [{ available: 10, requested: 11 }] });
    const ledger = await call("GET", `/api/items/${item}/stock-movements`, { token: t.users.staff.token });
    expect(ledger.json.items.map((m: { delta: number }) => m.delta)).toEqual([7]);
  });
});
