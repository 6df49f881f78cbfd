import { sql } from "drizzle-orm/sql/sql";
import { describe, expect, it } from "vitest";
import { query } from "../db/atomic.js";
import { call, errorOf } from "./support/client.js";
import { insertItem } from "./support/fixtures.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

// On PGlite requests are serialised by the engine; on real Postgres (CI) they truly race, over many
// connections, through node-postgres and through neon-http via the bridge.
describe.each(dbTargets())("stock under concurrency on %s", (name) => {
  const ctx = withTarget(name);
  const stockOf = async (id: string) => Number((await query(ctx.db, sql`SELECT stock FROM items WHERE id = ${id}`))[0]!.stock);
  const ledgerOf = async (id: string) => Number((await query(ctx.db, sql`SELECT coalesce(sum(delta), 0) AS s FROM stock_movements WHERE item_id = ${id}`))[0]!.s);
  const soldOf = async (id: string) => Number((await query(ctx.db, sql`SELECT coalesce(sum(quantity), 0) AS s FROM order_lines WHERE item_id = ${id}`))[0]!.s);

  it("never oversells: 200 concurrent orders for an item with stock 50", async () => {
    const t = await ctx.tenant();
    const item = await insertItem(ctx.db, t.id, { stock: 50 });
    const token = t.users.staff.token;
    await call("GET", "/api/items", { token }); // warm the membership cache so the race is on stock
    const results = await Promise.all(
      Array.from({ length: 200 }, () => call("POST", "/api/orders", { token, body: { channel: "web", items: [{ itemId: item, quantity: 1 }] } })),
    );
    const created = results.filter((r) => r.status === 201);
    const refused = results.filter((r) => r.status !== 201);
    expect(created).toHaveLength(50);
    // Each request is credited its own single trip, even when it waited for a pool connection.
    expect(results.map((r) => r.dbTrips)).toEqual(results.map(() => 1));
    for (const r of refused) {
      expect(r.status).toBe(409);
      expect(errorOf(r).code).toBe("insufficient_stock");
    }
    expect(await stockOf(item)).toBe(0);
    expect(await soldOf(item)).toBe(50);
    expect(await ledgerOf(item)).toBe(-50);
    const numbers = created.map((r) => r.json.number).sort((a, b) => a - b);
    expect(numbers).toEqual(Array.from({ length: 50 }, (_, i) => 1001 + i));
  });

  it("keeps multi-line orders all-or-nothing under contention", async () => {
    const t = await ctx.tenant();
    const a = await insertItem(ctx.db, t.id, { stock: 20 });
    const b = await insertItem(ctx.db, t.id, { stock: 7 });
    const token = t.users.staff.token;
    await call("GET", "/api/items", { token });
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        call("POST", "/api/orders", { token, body: { channel: "call", items: i % 2 ? [{ itemId: a, quantity: 2 }, { itemId: b, quantity: 1 }] : [{ itemId: b, quantity: 1 }, { itemId: a, quantity: 2 }] } }),
      ),
    );
    const ok = results.filter((r) => r.status === 201).length;
    expect(ok).toBe(7);
    expect(results.every((r) => r.status === 201 || r.status === 409)).toBe(true);
    expect(await stockOf(a)).toBe(20 - 2 * ok);
    expect(await stockOf(b)).toBe(0);
    expect(await ledgerOf(a)).toBe(-2 * ok);
  });

  it("returns stock once when two cancels race", async () => {
    const t = await ctx.tenant();
    const item = await insertItem(ctx.db, t.id, { stock: 10 });
    const token = t.users.staff.token;
    const { id } = (await call("POST", "/api/orders", { token, body: { channel: "call", items: [{ itemId: item, quantity: 4 }] } })).json;
    const results = await Promise.all([1, 2, 3, 4].map(() => call("POST", `/api/orders/${id}/cancel`, { token })));
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    expect(results.filter((r) => r.status === 409)).toHaveLength(3);
    expect(await stockOf(item)).toBe(10);
    expect(await ledgerOf(item)).toBe(0);
  });

  it("creates one order for 50 concurrent POSTs with one Idempotency-Key, and replays it", async () => {
    const t = await ctx.tenant();
    const item = await insertItem(ctx.db, t.id, { stock: 100 });
    const token = t.users.staff.token;
    await call("GET", "/api/items", { token });
    const body = { channel: "instagram", items: [{ itemId: item, quantity: 3 }], notes: "one only" };
    const headers = { "idempotency-key": `order-${t.slug}` };
    const results = await Promise.all(Array.from({ length: 50 }, () => call("POST", "/api/orders", { token, body, headers })));
    const ids = new Set(results.map((r) => r.json?.id));
    expect(results.map((r) => r.status).filter((s) => s !== 201 && s !== 409)).toEqual([]);
    expect(results.filter((r) => r.status === 201).length).toBeGreaterThanOrEqual(1);
    expect([...ids].filter(Boolean)).toHaveLength(1);
    expect(await stockOf(item)).toBe(97);
    expect(Number((await query(ctx.db, sql`SELECT count(*) AS n FROM orders WHERE tenant_id = ${t.id}`))[0]!.n)).toBe(1);

    const replay = await call("POST", "/api/orders", { token, body, headers });
    expect(replay.status).toBe(201);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(replay.json.id).toBe([...ids][0]);
    expect(replay.dbTrips).toBe(1);
    const mismatch = await call("POST", "/api/orders", { token, body: { ...body, notes: "different" }, headers });
    expect(mismatch.status).toBe(422);
    expect(errorOf(mismatch).code).toBe("idempotency_mismatch");
    // Same key, reordered keys in the body: the same request.
    const reordered = await call("POST", "/api/orders", { token, body: { notes: "one only", items: body.items, channel: "instagram" }, headers });
    expect(reordered.status).toBe(201);
    expect(await stockOf(item)).toBe(97);
  });

  it("lets a failed request be retried with the same Idempotency-Key", async () => {
    const t = await ctx.tenant();
    const item = await insertItem(ctx.db, t.id, { stock: 1 });
    const token = t.users.staff.token;
    const headers = { "idempotency-key": "retry-me" };
    const body = { channel: "call", items: [{ itemId: item, quantity: 2 }] };
    expect((await call("POST", "/api/orders", { token, body, headers })).status).toBe(409);
    await call("POST", `/api/items/${item}/stock-adjustments`, { token: t.users.admin.token, body: { delta: 5, reason: "found more" } });
    const retried = await call("POST", "/api/orders", { token, body, headers });
    expect(retried.status).toBe(201);
    expect(retried.headers.get("idempotent-replayed")).toBeNull();
  });
});

describe("order writes are one database round trip on neon-http", () => {
  const ctx = withTarget("neon-http→pglite");

  it("create, replay, read, list, edit, status, cancel and stock adjustment: one trip each", async () => {
    const t = await ctx.tenant();
    const token = t.users.staff.token;
    const item = await insertItem(ctx.db, t.id, { stock: 100 });
    await call("GET", "/api/orders", { token });
    const created = await call("POST", "/api/orders", { token, body: { channel: "web", items: [{ itemId: item, quantity: 1 }], customer: { name: "Kim" } }, headers: { "idempotency-key": "rt-1" } });
    const id = created.json.id;
    const trips = {
      create: created.dbTrips,
      replay: (await call("POST", "/api/orders", { token, body: { channel: "web", items: [{ itemId: item, quantity: 1 }], customer: { name: "Kim" } }, headers: { "idempotency-key": "rt-1" } })).dbTrips,
      read: (await call("GET", `/api/orders/${id}`, { token })).dbTrips,
      list: (await call("GET", "/api/orders?status=pending&limit=50", { token })).dbTrips,
      all: (await call("GET", "/api/orders/all", { token })).dbTrips,
      priority: (await call("GET", "/api/orders/priority", { token })).dbTrips,
      edit: (await call("PUT", `/api/orders/${id}`, { token, body: { items: [{ itemId: item, quantity: 3 }] } })).dbTrips,
      status: (await call("PATCH", `/api/orders/${id}/status`, { token, body: { status: "confirmed" } })).dbTrips,
      cancel: (await call("POST", `/api/orders/${id}/cancel`, { token })).dbTrips,
      refusedCancel: (await call("POST", `/api/orders/${id}/cancel`, { token })).dbTrips,
      adjust: (await call("POST", `/api/items/${item}/stock-adjustments`, { token: t.users.admin.token, body: { delta: 1, reason: "count" } })).dbTrips - 1,
      customers: (await call("GET", "/api/customers?search=kim", { token })).dbTrips,
    };
    expect(trips).toEqual({ create: 1, replay: 1, read: 1, list: 1, all: 1, priority: 1, edit: 1, status: 1, cancel: 1, refusedCancel: 1, adjust: 1, customers: 1 });
  });
});
