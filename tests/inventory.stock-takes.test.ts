import { sql } from "drizzle-orm/sql/sql";
import { describe, expect, it } from "vitest";
import { query } from "../db/atomic.js";
import { call, errorOf } from "./support/client.js";
import { insertItem, insertSupplier } from "./support/fixtures.js";
import { readAfter } from "../lib/events/repo.js";
import { START } from "../lib/events/cursor.js";
import { EVENT_TYPES } from "../lib/events/catalog.js";
import { eventsSettled } from "./support/events.js";
import { validate } from "./support/json-schema.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

// Stock-takes (issue 15, part 4): snapshot, apply counted − snapshot, variance at cost.
describe.each(dbTargets())("stock-takes on %s", (name) => {
  const ctx = withTarget(name);
  const batch = (statements: number) => (ctx.kind === "node-postgres" ? statements + 2 : 1);
  const one = async (q: ReturnType<typeof sql>) => (await query(ctx.db, q))[0]!;
  const stockOf = async (id: string) => Number((await one(sql`SELECT stock FROM items WHERE id = ${id}`)).stock);
  const ledgerOf = async (id: string) => Number((await one(sql`SELECT coalesce(sum(delta), 0) AS s FROM stock_movements WHERE item_id = ${id}`)).s);

  async function shop() {
    const t = await ctx.tenant();
    for (const role of ["admin", "staff"] as const) expect((await call("GET", "/api/suppliers", { token: t.users[role].token })).status).toBe(200);
    return { t, admin: t.users.admin.token, staff: t.users.staff.token };
  }

  it("applies counted − snapshot, so sales made while counting stay sold; reports moved lines and variance at cost", async () => {
    const s = await shop();
    const beans = await insertItem(ctx.db, s.t.id, { name: "Beans", stock: 20, sku: null });
    const cups = await insertItem(ctx.db, s.t.id, { name: "Cups", stock: 50, sku: null });
    const lids = await insertItem(ctx.db, s.t.id, { name: "Lids", stock: 3, sku: null });
    const supplier = await insertSupplier(ctx.db, s.t.id);
    await call("PUT", `/api/items/${beans}/suppliers/${supplier}`, { token: s.admin, body: { unitCostCents: 400, preferred: true } });

    const started = await call("POST", "/api/stock-takes", {
      token: s.admin,
      body: { lines: [{ itemId: beans, countedQuantity: 18 }, { itemId: cups, countedQuantity: 50 }, { itemId: lids, countedQuantity: 0 }], note: "Shelf A" },
    });
    expect(started.status).toBe(201);
    expect(started.dbTrips).toBe(1);
    expect(started.json.status).toBe("open");
    expect(started.json.lines.map((l: { expectedQuantity: number; variance: number; varianceValueCents: number | null }) => [l.expectedQuantity, l.variance, l.varianceValueCents])).toEqual([
      [20, -2, -800],
      [50, 0, null],
      [3, -3, null],
    ]);
    expect(started.json.totals).toMatchObject({ lines: 3, varianceUnits: -5, varianceValueCents: -800, linesWithoutCost: 1 });
    // Nothing moves until it is applied.
    expect(await stockOf(beans)).toBe(20);

    // While counting: 5 beans and 2 lids are sold.
    expect((await call("POST", "/api/orders", { token: s.staff, body: { channel: "web", items: [{ itemId: beans, quantity: 5 }, { itemId: lids, quantity: 2 }] } })).status).toBe(201);

    const applied = await call("POST", `/api/stock-takes/${started.json.id}/apply`, { token: s.admin });
    expect(applied.status).toBe(200);
    expect(applied.dbTrips).toBe(batch(3));
    expect(applied.json.status).toBe("applied");
    const line = (id: string) => applied.json.lines.find((l: { itemId: string }) => l.itemId === id);
    // Beans: 15 now, counted 2 fewer than the snapshot → 13 (not 18: the 5 sold stay sold).
    expect(line(beans)).toMatchObject({ stockAtApply: 15, movedSinceSnapshot: -5, appliedDelta: -2 });
    expect(await stockOf(beans)).toBe(13);
    // Lids: 1 now, −3 would go below zero: floored at 0.
    expect(line(lids)).toMatchObject({ stockAtApply: 1, movedSinceSnapshot: -2, appliedDelta: -1 });
    expect(await stockOf(lids)).toBe(0);
    expect(line(cups)).toMatchObject({ appliedDelta: 0, movedSinceSnapshot: 0 });
    expect(applied.json.totals.movedLines).toBe(2);
    await eventsSettled(ctx.db, s.t.id);
    const applyEvents = (await readAfter(ctx.db, s.t.id, START, 1000)).events.filter((e) => e.type === "stock_take.applied");
    expect(applyEvents).toHaveLength(1);
    expect(validate(EVENT_TYPES["stock_take.applied"].data as never, applyEvents[0]!.data)).toEqual([]);
    for (const [item, initial] of [[beans, 20], [cups, 50], [lids, 3]] as const) expect(initial + (await ledgerOf(item))).toBe(await stockOf(item));
    expect(Number((await one(sql`SELECT count(*) AS n FROM stock_movements WHERE reason = 'count' AND item_id IN (${beans}, ${cups}, ${lids})`)).n)).toBe(2);

    // Once only; the report stays readable.
    const again = await call("POST", `/api/stock-takes/${started.json.id}/apply`, { token: s.admin });
    expect(again.status).toBe(409);
    expect(await stockOf(beans)).toBe(13);
    const report = await call("GET", `/api/stock-takes/${started.json.id}`, { token: s.staff });
    expect(report.json.lines).toEqual(applied.json.lines);
    expect((await call("GET", `/api/stock-takes/${started.json.id}`, { token: (await shop()).staff })).status).toBe(404);
  });

  it("refuses negative counts, unknown items and duplicates naming the line; nothing is written", async () => {
    const s = await shop();
    const item = await insertItem(ctx.db, s.t.id);
    const negative = await call("POST", "/api/stock-takes", { token: s.admin, body: { lines: [{ itemId: item, countedQuantity: -1 }] } });
    expect(negative.status).toBe(422);
    expect(errorOf(negative).details).toMatchObject([{ path: "lines.0.countedQuantity" }]);
    const foreign = await insertItem(ctx.db, (await ctx.tenant()).id);
    const unknown = await call("POST", "/api/stock-takes", { token: s.admin, body: { lines: [{ itemId: item, countedQuantity: 1 }, { itemId: foreign, countedQuantity: 1 }] } });
    expect(unknown.status).toBe(422);
    expect(errorOf(unknown).details).toMatchObject([{ path: "lines.1.itemId" }]);
    const twice = await call("POST", "/api/stock-takes", { token: s.admin, body: { lines: [{ itemId: item, countedQuantity: 1 }, { itemId: item, countedQuantity: 2 }] } });
    expect(twice.status).toBe(422);
    expect(Number((await one(sql`SELECT count(*) AS n FROM stock_takes WHERE tenant_id = ${s.t.id}`)).n)).toBe(0);
  });
});
