import fc from "fast-check";
import { sql } from "drizzle-orm/sql/sql";
import { describe, expect, it } from "vitest";
import { query } from "../db/atomic.js";
import { call, errorOf } from "./support/client.js";
import { insertCustomer, insertItem } from "./support/fixtures.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

const inDays = (days: number) => new Date(Date.now() + days * 86400_000).toISOString().slice(0, 10);

describe.each(dbTargets())("orders bad input on %s", (name) => {
  const ctx = withTarget(name);
  const snapshot = async (tenantId: string) =>
    JSON.stringify([
      await query(ctx.db, sql`SELECT id, stock, version FROM items WHERE tenant_id = ${tenantId} ORDER BY id`),
      await query(ctx.db, sql`SELECT id, status, version, total_cents FROM orders WHERE tenant_id = ${tenantId} ORDER BY id`),
      await query(ctx.db, sql`SELECT count(*) AS n FROM order_lines WHERE tenant_id = ${tenantId}`),
      await query(ctx.db, sql`SELECT count(*) AS n FROM stock_movements WHERE tenant_id = ${tenantId}`),
      await query(ctx.db, sql`SELECT count(*) AS n FROM customers WHERE tenant_id = ${tenantId}`),
      await query(ctx.db, sql`SELECT last_number FROM order_counters WHERE tenant_id = ${tenantId}`),
    ]);

  it("fails a multi-line order whole when one line is short, listing each short line; the number is not consumed", async () => {
    const t = await ctx.tenant();
    const staff = t.users.staff.token;
    const plenty = await insertItem(ctx.db, t.id, { stock: 100 });
    const few = await insertItem(ctx.db, t.id, { stock: 2 });
    const none = await insertItem(ctx.db, t.id, { stock: 0 });
    const first = await call("POST", "/api/orders", { token: staff, body: { channel: "call", items: [{ itemId: plenty, quantity: 1 }] } });
    expect(first.json.number).toBe(1001);
    const before = await snapshot(t.id);
    const short = await call("POST", "/api/orders", {
      token: staff,
      body: { channel: "call", items: [{ itemId: plenty, quantity: 5 }, { itemId: few, quantity: 3 }, { itemId: none, quantity: 1 }], customer: { name: "Inline" } },
    });
    expect(short.status).toBe(409);
    const error = errorOf(short);
    expect(error.code).toBe("insufficient_stock");
    expect(error.details).toEqual([
      { path: "items.1.quantity", message: "3 requested, 2 available", itemId: few, requested: 3, available: 2 },
      { path: "items.2.quantity", message: "1 requested, 0 available", itemId: none, requested: 1, available: 0 },
    ]);
    expect(await snapshot(t.id)).toBe(before);
    const next = await call("POST", "/api/orders", { token: staff, body: { channel: "call", items: [{ itemId: few, quantity: 2 }] } });
    expect(next.json.number).toBe(1002);
  });

  it("rejects unknown, deleted and other tenants' items and customers with 422 and the field path", async () => {
    const t = await ctx.tenant();
    const other = await ctx.tenant();
    const staff = t.users.staff.token;
    const mine = await insertItem(ctx.db, t.id);
    const deleted = await insertItem(ctx.db, t.id, { deleted: true });
    const theirs = await insertItem(ctx.db, other.id);
    const theirCustomer = await insertCustomer(ctx.db, other.id);
    const before = await snapshot(t.id);
    const theirsBefore = await snapshot(other.id);
    const cases: [unknown, string[]][] = [
      [{ channel: "call", items: [{ itemId: mine, quantity: 1 }, { itemId: crypto.randomUUID(), quantity: 1 }] }, ["items.1.itemId"]],
      [{ channel: "call", items: [{ itemId: deleted, quantity: 1 }] }, ["items.0.itemId"]],
      [{ channel: "call", items: [{ itemId: theirs, quantity: 1 }] }, ["items.0.itemId"]],
      [{ channel: "call", items: [{ itemId: mine, quantity: 1 }], customerId: theirCustomer }, ["customerId"]],
      [{ channel: "call", items: [{ itemId: mine, quantity: 1 }], customerId: crypto.randomUUID() }, ["customerId"]],
    ];
    for (const [body, paths] of cases) {
      const result = await call("POST", "/api/orders", { token: staff, body });
      expect(result.status, JSON.stringify(body)).toBe(422);
      expect(errorOf(result).details?.map((d) => d.path)).toEqual(paths);
    }
    expect(await snapshot(t.id)).toBe(before);
    expect(await snapshot(other.id)).toBe(theirsBefore);
  });

  it("rejects malformed orders with 4xx and changes nothing", async () => {
    const t = await ctx.tenant();
    const staff = t.users.staff.token;
    const item = await insertItem(ctx.db, t.id, { stock: 10 });
    const line = { itemId: item, quantity: 1 };
    const before = await snapshot(t.id);
    const bad: [unknown, number, string[]?][] = [
      [{ channel: "call", items: [{ itemId: item, quantity: 0 }] }, 422, ["items.0.quantity"]],
      [{ channel: "call", items: [{ itemId: item, quantity: -2 }] }, 422, ["items.0.quantity"]],
      [{ channel: "call", items: [{ itemId: item, quantity: 1.5 }] }, 422, ["items.0.quantity"]],
      [{ channel: "call", items: [{ itemId: item, quantity: "2" }] }, 422, ["items.0.quantity"]],
      [{ channel: "call", items: [{ itemId: item, quantity: 1e9 }] }, 422, ["items.0.quantity"]],
      [{ channel: "call", items: [] }, 422, ["items"]],
      [{ channel: "call" }, 422, ["items"]],
      [{ channel: "call", items: Array.from({ length: 101 }, () => line) }, 422, ["items"]],
      [{ channel: "telegram", items: [line] }, 422, ["channel"]],
      [{ channel: "call", items: [line], expectedDeliveryDate: "9999-12-31" }, 422, ["expectedDeliveryDate"]],
      [{ channel: "call", items: [line], expectedDeliveryDate: "0001-01-01" }, 422, ["expectedDeliveryDate"]],
      [{ channel: "call", items: [line], expectedDeliveryDate: "2026-02-30" }, 422, ["expectedDeliveryDate"]],
      [{ channel: "call", items: [line], expectedDeliveryDate: "tomorrow" }, 422, ["expectedDeliveryDate"]],
      [{ channel: "call", items: [line], expectedDeliveryDate: 20261201 }, 422, ["expectedDeliveryDate"]],
      [{ channel: "call", items: [line], customerId: crypto.randomUUID(), customer: { name: "x" } }, 422, ["customer"]],
      [{ channel: "call", items: [line], customer: { name: "" } }, 422, ["customer.name"]],
      [{ channel: "call", items: [line], status: "completed" }, 422, ["status"]],
      [{ channel: "call", items: [{ itemId: item, quantity: 1, priceCents: 1 }] }, 422, ["items.0.priceCents"]],
    ];
    for (const [body, status, paths] of bad) {
      const result = await call("POST", "/api/orders", { token: staff, body });
      expect(result.status, JSON.stringify(body).slice(0, 100)).toBe(status);
      if (paths) expect(errorOf(result).details?.map((d) => d.path), JSON.stringify(body).slice(0, 100)).toEqual(paths);
    }
    // 10,000 lines: refused by size before it is even parsed.
    const huge = await call("POST", "/api/orders", { token: staff, body: { channel: "call", items: Array.from({ length: 10_000 }, () => line) } });
    expect(huge.status).toBe(413);
    const badKey = await call("POST", "/api/orders", { token: staff, body: { channel: "call", items: [line] }, headers: { "idempotency-key": "has spaces in it" } });
    expect(badKey.status).toBe(400);
    expect(await snapshot(t.id)).toBe(before);
    expect((await call("GET", `/api/orders?from=${inDays(0)}`, { token: staff })).json.pagination.total).toBe(0);
  });

  it("caps units per item after merging duplicate lines, on create and on edit", async () => {
    const t = await ctx.tenant();
    const staff = t.users.staff.token;
    const item = await insertItem(ctx.db, t.id, { stock: 10_000_000 });
    const other = await insertItem(ctx.db, t.id, { stock: 10 });
    const before = await snapshot(t.id);
    // 99 lines of 100,000 each: every line is within the cap, the merged line would be 9,900,000.
    const hundred = Array.from({ length: 99 }, () => ({ itemId: item, quantity: 100_000 }));
    const created = await call("POST", "/api/orders", { token: staff, body: { channel: "call", items: [{ itemId: other, quantity: 1 }, ...hundred] } });
    expect(created.status).toBe(422);
    expect(errorOf(created).details?.map((d) => d.path)).toEqual(["items.1.quantity"]);
    // Case differences in the id are the same item, merged the same way.
    const mixedCase = await call("POST", "/api/orders", { token: staff, body: { channel: "call", items: [{ itemId: item, quantity: 60_000 }, { itemId: item.toUpperCase(), quantity: 40_001 }] } });
    expect(mixedCase.status).toBe(422);
    expect(await snapshot(t.id)).toBe(before);
    const exactly = await call("POST", "/api/orders", { token: staff, body: { channel: "call", items: [{ itemId: item, quantity: 60_000 }, { itemId: item, quantity: 40_000 }] } });
    expect(exactly.status).toBe(201);
    expect(exactly.json.lines).toMatchObject([{ itemId: item, quantity: 100_000 }]);
    const edited = await call("PUT", `/api/orders/${exactly.json.id}`, { token: staff, body: { items: [{ itemId: item, quantity: 100_000 }, { itemId: item, quantity: 1 }] } });
    expect(edited.status).toBe(422);
    expect(errorOf(edited).details?.map((d) => d.path)).toEqual(["items.0.quantity"]);
  });

  it("refuses illegal status moves and edits of orders past their editable states", async () => {
    const t = await ctx.tenant();
    const staff = t.users.staff.token;
    const item = await insertItem(ctx.db, t.id, { stock: 10 });
    const { id } = (await call("POST", "/api/orders", { token: staff, body: { channel: "call", items: [{ itemId: item, quantity: 1 }] } })).json;
    for (const status of ["pending", "preparing", "ready", "completed"]) {
      const result = await call("PATCH", `/api/orders/${id}/status`, { token: staff, body: { status } });
      expect(result.status, status).toBe(409);
      expect(errorOf(result).code).toBe("invalid_transition");
    }
    await call("PATCH", `/api/orders/${id}/status`, { token: staff, body: { status: "confirmed" } });
    await call("PATCH", `/api/orders/${id}/status`, { token: staff, body: { status: "preparing" } });
    const lines = await call("PUT", `/api/orders/${id}`, { token: staff, body: { items: [{ itemId: item, quantity: 2 }] } });
    expect(lines.status).toBe(409);
    expect(errorOf(lines).code).toBe("invalid_transition");
    expect((await call("PUT", `/api/orders/${id}`, { token: staff, body: { notes: "still fine" } })).status).toBe(200);
    const stale = await call("PATCH", `/api/orders/${id}/status`, { token: staff, body: { status: "ready" }, headers: { "if-match": '"v1"' } });
    expect(stale.status).toBe(412);
    await call("POST", `/api/orders/${id}/cancel`, { token: staff });
    expect((await call("PATCH", `/api/orders/${id}/status`, { token: staff, body: { status: "confirmed" } })).status).toBe(409);
    expect((await call("PUT", `/api/orders/${id}`, { token: staff, body: { notes: "too late" } })).status).toBe(409);
    expect((await call("PATCH", `/api/orders/${crypto.randomUUID()}/status`, { token: staff, body: { status: "confirmed" } })).status).toBe(404);
    expect((await call("PATCH", `/api/orders/${crypto.randomUUID()}/status`, { token: staff, body: { status: "pending" } })).status).toBe(404);
    expect((await call("POST", `/api/orders/${crypto.randomUUID()}/cancel`, { token: staff })).status).toBe(404);
    expect(await query(ctx.db, sql`SELECT stock FROM items WHERE id = ${item}`)).toEqual([{ stock: 10 }]);
  });

  it("refuses an edit that needs more stock than there is, changing nothing", async () => {
    const t = await ctx.tenant();
    const staff = t.users.staff.token;
    const item = await insertItem(ctx.db, t.id, { stock: 5 });
    const { id } = (await call("POST", "/api/orders", { token: staff, body: { channel: "call", items: [{ itemId: item, quantity: 3 }] } })).json;
    const before = await snapshot(t.id);
    const result = await call("PUT", `/api/orders/${id}`, { token: staff, body: { items: [{ itemId: item, quantity: 6 }] } });
    expect(result.status).toBe(409);
    expect(errorOf(result).details).toEqual([{ path: "items.0.quantity", message: "3 requested, 2 available", itemId: item, requested: 3, available: 2 }]);
    expect(await snapshot(t.id)).toBe(before);
    expect((await call("PUT", `/api/orders/${id}`, { token: staff, body: { items: [{ itemId: item, quantity: 5 }] } })).status).toBe(200);
  });

  it("rejects bad list queries with 400", async () => {
    const t = await ctx.tenant();
    for (const qs of ["status=shipped", "channel=", "from=2026-13-01", "to=yesterday", "limit=15", "cursor=bm90IGpzb24", "sort=price", `customerId=abc`]) {
      const result = await call("GET", `/api/orders?${qs}`, { token: t.users.staff.token });
      expect(result.status, qs).toBe(400);
    }
    const createdCursor = Buffer.from(JSON.stringify({ s: "created", id: crypto.randomUUID() })).toString("base64url");
    expect((await call("GET", `/api/orders?sort=delivery&cursor=${createdCursor}`, { token: t.users.staff.token })).status).toBe(400);
  });

  it("never answers random order bodies with a 5xx (property test)", async () => {
    const t = await ctx.tenant();
    const item = await insertItem(ctx.db, t.id, { stock: 1_000_000 });
    const line = fc.record({ itemId: fc.oneof(fc.constant(item), fc.uuid(), fc.string()), quantity: fc.oneof(fc.integer({ min: -5, max: 2_000_000 }), fc.string(), fc.double()) }, { requiredKeys: [] });
    const body = fc.oneof(
      fc.record(
        {
          channel: fc.oneof(fc.constantFrom("instagram", "call", "web"), fc.string()),
          items: fc.oneof(fc.array(line, { maxLength: 4 }), fc.anything()),
          priority: fc.oneof(fc.constantFrom("low", "urgent"), fc.string()),
          expectedDeliveryDate: fc.oneof(fc.constant(inDays(2)), fc.string(), fc.constant(null)),
          customer: fc.oneof(fc.record({ name: fc.string() }), fc.anything()),
        },
        { requiredKeys: [] },
      ),
      fc.anything(),
    );
    await fc.assert(
      fc.asyncProperty(body, async (input) => {
        const result = await call("POST", "/api/orders", { token: t.users.staff.token, body: input === undefined ? {} : input });
        expect(result.status).toBeLessThan(500);
        if (result.status >= 400) errorOf(result);
      }),
      { numRuns: name === "pglite" ? 100 : 30 },
    );
  });
});
