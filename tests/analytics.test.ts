import { sql } from "drizzle-orm/sql/sql";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import { query } from "../db/atomic.js";
import { todayUtc } from "../lib/analytics/service.js";
import { call, errorOf } from "./support/client.js";
import { insertItem, type TestTenant } from "./support/fixtures.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

const SECRET = "cron-secret-for-tests-0123456789";
const daysAgo = (n: number) => new Date(Date.now() - n * 86_400_000).toISOString().slice(0, 10);

describe.each(dbTargets())("analytics on %s", (name) => {
  const ctx = withTarget(name);
  const configuredSecret = process.env.CRON_SECRET;
  afterEach(() => {
    if (configuredSecret === undefined) delete process.env.CRON_SECRET;
    else process.env.CRON_SECRET = configuredSecret;
    delete process.env.ANALYTICS_WATERMARK_MARGIN_S;
  });

  const cron = (authorization?: string) => call("GET", "/api/cron/refresh-analytics", { headers: authorization ? { authorization } : {} });
  async function refresh() {
    process.env.CRON_SECRET = SECRET;
    const result = await cron(`Bearer ${SECRET}`);
    expect(result.status).toBe(200);
    return result.json;
  }

  /** An order through the API, then moved `ago` days back (a test-only rewrite of history, done before any refresh sees it). */
  async function order(t: TestTenant, lines: { itemId: string; quantity: number }[], channel = "web", ago = 0) {
    const created = await call("POST", "/api/orders", { token: t.users.staff.token, body: { channel, items: lines } });
    expect(created.status).toBe(201);
    if (ago) await query(ctx.db, sql`UPDATE orders SET created_at = created_at - make_interval(days => ${ago}::int), updated_at = now() WHERE id = ${created.json.id}`);
    return created.json.id as string;
  }

  /** Rollups and a from-scratch aggregate over orders/order_lines, in the same shape. */
  async function rollupsVsScratch(tenantId: string) {
    const num = (rows: Record<string, unknown>[]) => rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, k === "day" || k === "key" ? String(v) : Number(v)])));
    const channels = num(await query(ctx.db, sql`SELECT day::text AS day, channel AS key, orders, units, revenue_cents FROM sales_daily_channels WHERE tenant_id = ${tenantId} ORDER BY 1, 2`));
    const items = num(await query(ctx.db, sql`SELECT day::text AS day, item_id::text AS key, units, revenue_cents, orders FROM sales_daily_items WHERE tenant_id = ${tenantId} ORDER BY 1, 2`));
    const scratchChannels = num(
      await query(
        ctx.db,
        sql`SELECT (o.created_at AT TIME ZONE 'UTC')::date::text AS day, o.channel AS key, count(*) AS orders, sum(o.units) AS units, sum(o.total_cents) AS revenue_cents
            FROM orders o WHERE o.tenant_id = ${tenantId} AND o.status <> 'cancelled' GROUP BY 1, 2 ORDER BY 1, 2`,
      ),
    );
    const scratchItems = num(
      await query(
        ctx.db,
        sql`SELECT (o.created_at AT TIME ZONE 'UTC')::date::text AS day, l.item_id::text AS key, sum(l.quantity) AS units, sum(l.quantity * l.unit_price_cents) AS revenue_cents, count(DISTINCT o.id) AS orders
            FROM orders o JOIN order_lines l ON l.order_id = o.id WHERE o.tenant_id = ${tenantId} AND o.status <> 'cancelled' GROUP BY 1, 2 ORDER BY 1, 2`,
      ),
    );
    return { channels, items, scratchChannels, scratchItems };
  }

  it("authenticates the cron with CRON_SECRET (constant-time) and refuses to run without one", async () => {
    delete process.env.CRON_SECRET;
    const unset = await cron(`Bearer ${SECRET}`);
    expect(unset.status).toBe(500);
    expect(errorOf(unset).code).toBe("config_error");
    process.env.CRON_SECRET = SECRET;
    for (const bad of [undefined, "Bearer wrong", `Bearer ${SECRET}x`, `Basic ${SECRET}`, `Bearer ${SECRET.slice(0, -1)}`, "Bearer "]) {
      const result = await cron(bad);
      expect(result.status, String(bad)).toBe(401);
      expect(errorOf(result).code).toBe("unauthorized");
    }
    const ok = await cron(`Bearer ${SECRET}`);
    expect(ok.status).toBe(200);
    expect(ok.json.refreshed).toBe(true);
    expect(ok.headers.get("cache-control")).toBe("private, no-store");
    // Read the watermark, then one atomic batch (node-postgres counts each statement of it, BEGIN and
    // COMMIT too); a timezone rebuild, when one is pending, is a batch of its own.
    // (Other suites on a shared database may have left tenants with a changed timezone.)
    const base = ctx.kind === "node-postgres" ? 6 : 2;
    const rebuildTrips = ctx.kind === "node-postgres" ? 5 : 1;
    expect(ok.json.rebuiltTenants > 0 ? [base + rebuildTrips] : [base, base + rebuildTrips]).toContain(ok.dbTrips);
  });

  it("property: after any mix of creates, edits, status moves, cancels and refreshes, rollups equal a from-scratch aggregate", async () => {
    const action = fc.oneof(
      fc.record({ kind: fc.constant("create" as const), ago: fc.integer({ min: 0, max: 4 }), channel: fc.constantFrom("web", "instagram", "call"), lines: fc.array(fc.record({ item: fc.nat(2), quantity: fc.integer({ min: 1, max: 3 }) }), { minLength: 1, maxLength: 3 }) }),
      fc.record({ kind: fc.constant("edit" as const), order: fc.nat(), lines: fc.array(fc.record({ item: fc.nat(2), quantity: fc.integer({ min: 1, max: 3 }) }), { minLength: 1, maxLength: 3 }) }),
      fc.record({ kind: fc.constant("cancel" as const), order: fc.nat() }),
      fc.record({ kind: fc.constant("advance" as const), order: fc.nat() }),
      fc.record({ kind: fc.constant("refresh" as const) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 1, maxLength: 14 }), async (actions) => {
        const t = await ctx.tenant("prop");
        const items = [await insertItem(ctx.db, t.id, { stock: 1000 }), await insertItem(ctx.db, t.id, { stock: 1000 }), await insertItem(ctx.db, t.id, { stock: 1000 })];
        for (const [i, id] of items.entries()) await query(ctx.db, sql`UPDATE items SET price_cents = ${(i + 1) * 150} WHERE id = ${id}`);
        const orders: string[] = [];
        const token = t.users.staff.token;
        const pick = (n: number) => orders[n % orders.length]!;
        for (const a of actions) {
          if (a.kind === "create") orders.push(await order(t, a.lines.map((l) => ({ itemId: items[l.item]!, quantity: l.quantity })), a.channel, a.ago));
          else if (a.kind === "refresh") await refresh();
          else if (orders.length === 0) continue;
          else if (a.kind === "edit") await call("PUT", `/api/orders/${pick(a.order)}`, { token, body: { items: a.lines.map((l) => ({ itemId: items[l.item]!, quantity: l.quantity })) } });
          else if (a.kind === "cancel") await call("POST", `/api/orders/${pick(a.order)}/cancel`, { token });
          else {
            const current = (await call("GET", `/api/orders/${pick(a.order)}`, { token })).json.status;
            const next = { pending: "confirmed", confirmed: "preparing", preparing: "ready", ready: "completed" }[current as string];
            if (next) await call("PATCH", `/api/orders/${pick(a.order)}/status`, { token, body: { status: next } });
          }
        }
        await refresh();
        const { channels, items: itemRows, scratchChannels, scratchItems } = await rollupsVsScratch(t.id);
        expect(channels).toEqual(scratchChannels);
        expect(itemRows).toEqual(scratchItems);
      }),
      { numRuns: 12 },
    );
  });

  it("recomputes only the days of changed orders (rows of other days are not rewritten)", async () => {
    process.env.ANALYTICS_WATERMARK_MARGIN_S = "0";
    const t = await ctx.tenant();
    const item = await insertItem(ctx.db, t.id, { stock: 1000 });
    const ids: string[] = [];
    for (let ago = 1; ago <= 10; ago++) ids.push(await order(t, [{ itemId: item, quantity: ago }], "web", ago));
    await refresh();
    const state = async () => (await query(ctx.db, sql`SELECT last_run_at FROM analytics_state WHERE id = 1`))[0]!.last_run_at;
    const rewritten = async () =>
      (await query(ctx.db, sql`SELECT day::text AS day FROM sales_daily_items WHERE tenant_id = ${t.id} AND refreshed_at = (SELECT last_run_at FROM analytics_state WHERE id = 1) ORDER BY 1`)).map((r) => r.day);
    expect(await rewritten()).toHaveLength(10);
    const before = await state();

    // Edit the order from 3 days ago, cancel the one from 7 days ago: two days to recompute.
    expect((await call("PUT", `/api/orders/${ids[2]}`, { token: t.users.staff.token, body: { items: [{ itemId: item, quantity: 30 }] } })).status).toBe(200);
    expect((await call("POST", `/api/orders/${ids[6]}/cancel`, { token: t.users.staff.token })).status).toBe(200);
    const result = await refresh();
    expect(await state()).not.toEqual(before);
    expect(await rewritten()).toEqual([daysAgo(3)]); // the cancelled day has no row left to rewrite
    const days = (await query(ctx.db, sql`SELECT day::text AS day, units FROM sales_daily_items WHERE tenant_id = ${t.id} ORDER BY 1`)).map((r) => [r.day, Number(r.units)]);
    expect(days).toHaveLength(9);
    expect(days).toContainEqual([daysAgo(3), 30]);
    expect(days.find(([d]) => d === daysAgo(7))).toBeUndefined();
    expect(result.days).toBeGreaterThanOrEqual(2);

    // Nothing changed: nothing of this tenant is rewritten.
    await refresh();
    expect(await rewritten()).toEqual([]);
  });

  it("is safe to run concurrently: one run claims, the rollups stay exact", async () => {
    const t = await ctx.tenant();
    const item = await insertItem(ctx.db, t.id, { stock: 1000 });
    for (let i = 0; i < 5; i++) await order(t, [{ itemId: item, quantity: 1 + i }], "web", i % 3);
    process.env.CRON_SECRET = SECRET;
    const runs = await Promise.all(Array.from({ length: 4 }, () => cron(`Bearer ${SECRET}`)));
    for (const r of runs) expect(r.status).toBe(200);
    expect(runs.some((r) => r.json.refreshed === true)).toBe(true);
    for (const r of runs.filter((x) => x.json.refreshed === false)) expect(r.json.reason).toMatch(/Another refresh/);
    await refresh();
    const { channels, scratchChannels, items, scratchItems } = await rollupsVsScratch(t.id);
    expect(channels).toEqual(scratchChannels);
    expect(items).toEqual(scratchItems);
  });

  describe("reports", () => {
    async function shop() {
      const t = await ctx.tenant("shop");
      const vase = await insertItem(ctx.db, t.id, { name: 'Vase, "blue"', stock: 100 });
      const mug = await insertItem(ctx.db, t.id, { name: "=HYPERLINK(1)", stock: 12 });
      const idle = await insertItem(ctx.db, t.id, { name: "Idle lamp", stock: 3 });
      await query(ctx.db, sql`UPDATE items SET price_cents = 1000 WHERE id = ${vase}`);
      await query(ctx.db, sql`UPDATE items SET price_cents = 250, low_stock_threshold = 5 WHERE id = ${mug}`);
      await order(t, [{ itemId: vase, quantity: 2 }], "instagram", 0); // 2000 today
      await order(t, [{ itemId: vase, quantity: 1 }, { itemId: mug, quantity: 4 }], "web", 1); // 2000 yesterday
      await order(t, [{ itemId: mug, quantity: 8 }], "web", 9); // 2000 nine days ago
      const cancelled = await order(t, [{ itemId: vase, quantity: 5 }], "web", 0);
      await call("POST", `/api/orders/${cancelled}/cancel`, { token: t.users.staff.token });
      await order(t, [{ itemId: vase, quantity: 3 }], "call", 40); // outside 30 days
      await refresh();
      await call("GET", "/api/items", { token: t.users.staff.token }); // warm the membership cache
      return { t, vase, mug, idle, token: t.users.staff.token };
    }

    it("sales: buckets with zeros, totals, channel filter, week/month grouping, CSV — one round trip", async () => {
      const { token } = await shop();
      const daily = await call("GET", `/api/analytics/sales?from=${daysAgo(9)}&to=${daysAgo(0)}`, { token });
      expect(daily.status).toBe(200);
      expect(daily.dbTrips).toBe(1);
      expect(daily.json.buckets).toHaveLength(10);
      expect(daily.json.buckets[0]).toEqual({ period: daysAgo(9), orders: 1, units: 8, revenueCents: 2000, averageOrderValueCents: 2000 });
      expect(daily.json.buckets[1]).toEqual({ period: daysAgo(8), orders: 0, units: 0, revenueCents: 0, averageOrderValueCents: null });
      expect(daily.json.buckets[9]).toMatchObject({ period: daysAgo(0), orders: 1, units: 2, revenueCents: 2000 }); // the cancelled order is not a sale
      expect(daily.json.totals).toEqual({ orders: 3, units: 15, revenueCents: 6000, averageOrderValueCents: 2000 });
      expect(daily.json.refreshedAt).toEqual(expect.any(String));

      const web = await call("GET", `/api/analytics/sales?from=${daysAgo(9)}&to=${daysAgo(0)}&channel=web`, { token });
      expect(web.json.totals).toMatchObject({ orders: 2, revenueCents: 4000 });
      const monthly = await call("GET", `/api/analytics/sales?from=${daysAgo(60)}&groupBy=month`, { token });
      expect(monthly.json.totals).toMatchObject({ orders: 4, revenueCents: 9000 });
      expect(monthly.json.buckets.every((b: { period: string }) => b.period.endsWith("-01"))).toBe(true);
      const weekly = await call("GET", `/api/analytics/sales?from=${daysAgo(60)}&groupBy=week`, { token });
      expect(weekly.json.buckets.every((b: { period: string }) => new Date(`${b.period}T00:00:00Z`).getUTCDay() === 1)).toBe(true);
      expect(weekly.json.totals.revenueCents).toBe(9000);
      const defaults = await call("GET", "/api/analytics/sales", { token });
      expect(defaults.json).toMatchObject({ from: daysAgo(29), to: daysAgo(0), groupBy: "day" });
      expect(defaults.json.buckets).toHaveLength(30);

      const csv = await call("GET", `/api/analytics/sales?from=${daysAgo(1)}&to=${daysAgo(0)}&format=csv`, { token });
      expect(csv.status).toBe(200);
      expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
      expect(csv.headers.get("content-disposition")).toBe(`attachment; filename="sales-${daysAgo(1)}-${daysAgo(0)}-day.csv"`);
      expect(csv.text).toBe(`period,orders,units,revenue_cents,average_order_value_cents\r\n${daysAgo(1)},1,5,2000,2000\r\n${daysAgo(0)},1,2,2000,2000\r\n`);
      const accepted = await call("GET", `/api/analytics/sales?from=${daysAgo(1)}&to=${daysAgo(0)}`, { token, headers: { accept: "text/csv" } });
      expect(accepted.text).toBe(csv.text);

      for (const bad of ["from=2026-02-30", "groupBy=year", "channel=fax", `from=${daysAgo(0)}&to=${daysAgo(1)}`, "from=2020-01-01&to=2024-01-01", "format=xml"]) {
        expect((await call("GET", `/api/analytics/sales?${bad}`, { token })).status, bad).toBe(400);
      }
    });

    it("dashboard: periods with changes, top items, open orders, low stock — one round trip", async () => {
      const { token, vase, mug } = await shop();
      const result = await call("GET", "/api/analytics/dashboard", { token });
      expect(result.status).toBe(200);
      expect(result.dbTrips).toBe(1);
      expect(result.json.today).toBe(todayUtc());
      expect(result.json.periods.today).toEqual({ revenueCents: 2000, orders: 1, previous: { revenueCents: 2000, orders: 1 }, change: { revenuePct: 0, ordersPct: 0 } });
      expect(result.json.periods.last7Days).toMatchObject({ revenueCents: 4000, orders: 2, previous: { revenueCents: 2000, orders: 1 }, change: { revenuePct: 100, ordersPct: 100 } });
      expect(result.json.periods.last30Days).toMatchObject({ revenueCents: 6000, previous: { revenueCents: 3000 }, change: { revenuePct: 100 } });
      // Both sold 3000 in 30 days (the 40-day-old order is outside); ties go by item id.
      expect(result.json.topItems.map((i: { itemId: string; revenueCents: number }) => [i.itemId, i.revenueCents])).toEqual([vase, mug].sort().map((id) => [id, 3000]));
      expect(result.json.openOrders).toEqual({ pending: 4, confirmed: 0, preparing: 0, ready: 0 });
      expect(result.json.lowStockCount).toBe(2);
    });

    it("inventory: stock value, turnover, days of cover, CSV with escaping", async () => {
      const { token, vase, mug, idle } = await shop();
      const result = await call("GET", "/api/analytics/inventory?days=10", { token });
      expect(result.status).toBe(200);
      expect(result.dbTrips).toBe(1);
      const byId = Object.fromEntries(result.json.items.map((i: { itemId: string }) => [i.itemId, i]));
      expect(byId[vase]).toMatchObject({ stock: 94, priceCents: 1000, stockValueCents: 94_000, unitsSold: 3, averageDailyUnits: 0.3, turnover: 0.032, daysOfCover: 313.3, lowStock: false });
      expect(byId[mug]).toMatchObject({ stock: 0, stockValueCents: 0, unitsSold: 12, turnover: null, daysOfCover: 0, lowStock: true });
      expect(byId[idle]).toMatchObject({ unitsSold: 0, daysOfCover: null });
      expect(result.json.items.map((i: { itemId: string }) => i.itemId)).toEqual([mug, vase, idle]);
      expect(result.json.totals).toEqual({ items: 3, stockValueCents: 94_000 + 3 * 500, lowStockItems: 2, unitsSold: 15 });

      const csv = await call("GET", "/api/analytics/inventory?days=10", { token, headers: { accept: "text/csv, application/json;q=0.5" } });
      expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
      const lines = csv.text.split("\r\n");
      expect(lines[0]).toBe("item_id,name,sku,stock,price_cents,stock_value_cents,low_stock,units_sold,revenue_cents,average_daily_units,turnover,days_of_cover");
      expect(lines[1]).toMatch(new RegExp(`^${mug},'=HYPERLINK\\(1\\),`));
      expect(lines[2]).toMatch(new RegExp(`^${vase},"Vase, ""blue""",`));
      expect(lines[3]).toMatch(/,3,500,1500,true,0,0,0,0,$/);
      const json = await call("GET", "/api/analytics/inventory?format=json", { token, headers: { accept: "text/csv" } });
      expect(json.headers.get("content-type")).toMatch(/application\/json/);
    });

    it("reorder suggestions: items running out within the lead time, with quantities", async () => {
      const { t, token, vase } = await shop();
      const fast = await insertItem(ctx.db, t.id, { name: "Fast seller", stock: 100 });
      await order(t, [{ itemId: fast, quantity: 56 }], "web", 2); // 56 units in 28 days = 2/day, 44 left = 22 days of cover
      await refresh();
      const none = await call("GET", "/api/analytics/reorder-suggestions?leadTimeDays=7", { token });
      expect(none.status).toBe(200);
      expect(none.dbTrips).toBe(1);
      expect(none.json.items.map((i: { name: string }) => i.name)).toEqual(["=HYPERLINK(1)"]); // stock 0
      const longLead = await call("GET", "/api/analytics/reorder-suggestions?leadTimeDays=30&safetyDays=5", { token });
      const fastRow = longLead.json.items.find((i: { itemId: string }) => i.itemId === fast);
      expect(fastRow).toMatchObject({ stock: 44, unitsSold: 56, dailyRate: 2, daysOfCover: 22, suggestedQuantity: 2 * 35 - 44 });
      expect(longLead.json.items.find((i: { itemId: string }) => i.itemId === vase)).toBeUndefined(); // 313 days of cover
      expect((await call("GET", "/api/analytics/reorder-suggestions?leadTimeDays=0", { token })).status).toBe(400);
    });

    it("demand forecast reads the item's rollups; unknown or foreign items are 404", async () => {
      const { t, token, vase } = await shop();
      const forecast = await call("GET", `/api/analytics/demand-forecast?itemId=${vase}&horizon=30`, { token });
      expect(forecast.status).toBe(200);
      expect(forecast.dbTrips).toBe(1);
      expect(forecast.json.forecast).toHaveLength(30);
      expect(forecast.json.forecast[0].date).toBe(todayUtc());
      expect(forecast.json.history).toEqual([]); // the item was created today: no complete day yet
      // A constant series written straight into the rollups forecasts the constant.
      const steady = await insertItem(ctx.db, t.id, { name: "Steady" });
      await query(ctx.db, sql`UPDATE items SET created_at = now() - interval '90 days' WHERE id = ${steady}`);
      await query(ctx.db, sql`INSERT INTO sales_daily_items (tenant_id, day, item_id, units, revenue_cents, orders)
                              SELECT ${t.id}, d::date, ${steady}, 4, 400, 1 FROM generate_series(${daysAgo(56)}::date, ${daysAgo(1)}::date, '1 day') d`);
      const flat = await call("GET", `/api/analytics/demand-forecast?itemId=${steady}`, { token });
      expect(flat.json.history).toHaveLength(56);
      expect(flat.json.forecast.map((f: { units: number }) => f.units)).toEqual(Array(14).fill(4));
      expect(flat.json.totalUnits).toBe(56);
      const other = await ctx.tenant();
      expect((await call("GET", `/api/analytics/demand-forecast?itemId=${steady}`, { token: other.users.staff.token })).status).toBe(404);
      expect((await call("GET", `/api/analytics/demand-forecast?itemId=${steady}&horizon=7`, { token })).status).toBe(400);
    });

    it("never shows another tenant's sales", async () => {
      const { token } = await shop();
      const other = await ctx.tenant();
      const theirs = await call("GET", `/api/analytics/sales?from=${daysAgo(60)}`, { token: other.users.staff.token });
      expect(theirs.json.totals).toEqual({ orders: 0, units: 0, revenueCents: 0, averageOrderValueCents: null });
      const dash = await call("GET", "/api/analytics/dashboard", { token: other.users.staff.token });
      expect(dash.json.topItems).toEqual([]);
      expect(dash.json.periods.last30Days.revenueCents).toBe(0);
      const inv = await call("GET", "/api/analytics/inventory", { token: other.users.staff.token });
      expect(inv.json.items).toEqual([]);
      expect((await call("GET", "/api/analytics/sales", { token })).json.totals.orders).toBe(3);
    });
  });
});
