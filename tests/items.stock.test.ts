import { sql } from "drizzle-orm/sql/sql";
import { describe, expect, it } from "vitest";
import { query } from "../db/atomic.js";
import { call, errorOf } from "./support/client.js";
import { insertItem } from "./support/fixtures.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

// PUT /api/items/:id with `stock` (issue 11, item 3): a recorded movement ('set') of the difference,
// computed in the same statement, and only against a named version.
describe.each(dbTargets())("setting stock on %s", (name) => {
  const ctx = withTarget(name);
  const one = async (q: ReturnType<typeof sql>) => (await query(ctx.db, q))[0]!;
  const stockOf = async (id: string) => Number((await one(sql`SELECT stock FROM items WHERE id = ${id}`)).stock);
  const ledgerOf = async (id: string) => Number((await one(sql`SELECT coalesce(sum(delta), 0) AS s FROM stock_movements WHERE item_id = ${id}`)).s);

  it("needs If-Match or version (428), and records the difference as a 'set' movement", async () => {
    const t = await ctx.tenant();
    const admin = t.users.admin.token;
    const item = await insertItem(ctx.db, t.id, { stock: 10 });
    for (const headers of [{}, { "if-match": "*" }] as Record<string, string>[]) {
      const refused = await call("PUT", `/api/items/${item}`, { token: admin, body: { stock: 4 }, headers });
      expect(refused.status).toBe(428);
      expect(errorOf(refused).code).toBe("precondition_required");
    }
    expect(await stockOf(item)).toBe(10);

    const set = await call("PUT", `/api/items/${item}`, { token: admin, body: { stock: 4 }, headers: { "if-match": '"v1"' } });
    expect(set.status).toBe(200);
    expect(set.json).toMatchObject({ stock: 4, version: 2 });
    const movements = await call("GET", `/api/items/${item}/stock-movements`, { token: t.users.staff.token });
    expect(movements.json.items).toMatchObject([{ delta: -6, reason: "set", createdBy: t.users.admin.id }]);
    expect(10 + (await ledgerOf(item))).toBe(await stockOf(item));

    // The same stock again changes nothing worth a ledger row; the version still moves.
    const same = await call("PUT", `/api/items/${item}`, { token: admin, body: { stock: 4, version: 2 } });
    expect(same.status).toBe(200);
    expect(Number((await one(sql`SELECT count(*) AS n FROM stock_movements WHERE item_id = ${item}`)).n)).toBe(1);
    const up = await call("PUT", `/api/items/${item}`, { token: admin, body: { stock: 9, name: "Counted" }, headers: { "if-match": '"v3"' } });
    expect(up.json).toMatchObject({ stock: 9, name: "Counted", version: 4 });
    expect(10 + (await ledgerOf(item))).toBe(9);
  });

  it("cannot undo sales made since the client looked: 40 concurrent orders and a stock set at the version read before", async () => {
    const t = await ctx.tenant();
    const item = await insertItem(ctx.db, t.id, { stock: 100 });
    const seen = await call("GET", `/api/items/${item}`, { token: t.users.admin.token });
    const etag = seen.headers.get("etag")!;
    const orders = Array.from({ length: 40 }, () => call("POST", "/api/orders", { token: t.users.staff.token, body: { channel: "web", items: [{ itemId: item, quantity: 1 }] } }));
    const set = call("PUT", `/api/items/${item}`, { token: t.users.admin.token, body: { stock: 100 }, headers: { "if-match": etag } });
    const results = await Promise.all([...orders, set]);
    const sold = results.slice(0, 40).filter((r) => r.status === 201).length;
    expect(sold).toBe(40);
    const setResult = results[40]!;
    expect([200, 412]).toContain(setResult.status);
    // The set either came first (at v1, changing nothing) or was refused: every sale stays sold.
    expect(await stockOf(item)).toBe(60);
    expect(100 + (await ledgerOf(item))).toBe(60);
    expect(Number((await one(sql`SELECT count(*) AS n FROM stock_movements WHERE item_id = ${item} AND reason = 'set'`)).n)).toBe(0);
  });
});
