import { sql } from "drizzle-orm/sql/sql";
import { describe, expect, it } from "vitest";
import { query } from "../db/atomic.js";
import { call, errorOf } from "./support/client.js";
import { insertItem, insertSupplier } from "./support/fixtures.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

// Suppliers and item ↔ supplier links (issue 15, part 1), and reorder suggestions by supplier.
describe.each(dbTargets())("suppliers on %s", (name) => {
  const ctx = withTarget(name);
  // One round trip for a batch of `statements` (node-postgres counts its BEGIN and COMMIT as trips of their own).
  const batch = (statements: number) => (ctx.kind === "node-postgres" ? statements + 2 : 1);
  /** A fresh tenant whose members' first request (the membership lookup: one more trip) is behind them. */
  const tenant = async () => {
    const t = await ctx.tenant();
    for (const role of ["admin", "staff"] as const) expect((await call("GET", "/api/suppliers", { token: t.users[role].token })).status).toBe(200);
    return t;
  };

  it("creates, reads, updates (If-Match) and soft-deletes a supplier, one round trip each", async () => {
    const t = await tenant();
    const admin = t.users.admin.token;
    const made = await call("POST", "/api/suppliers", {
      token: admin,
      body: { name: " Kopi Jaya ", contactName: "Budi", email: "Budi@Kopi.test", phone: "+62 21 555 0101", address: "Jl. Sudirman 1", notes: "Ships Mondays", leadTimeDays: 5, currency: "idr" },
    });
    expect(made.status).toBe(201);
    expect(made.dbTrips).toBe(1);
    expect(made.json).toMatchObject({ name: "Kopi Jaya", email: "budi@kopi.test", leadTimeDays: 5, currency: "IDR", version: 1, deletedAt: null });
    expect(made.headers.get("location")).toBe(`/api/suppliers/${made.json.id}`);
    const id = made.json.id;

    const read = await call("GET", `/api/suppliers/${id}`, { token: t.users.staff.token });
    expect(read.status).toBe(200);
    expect(read.headers.get("etag")).toBe('"v1"');

    const stale = await call("PUT", `/api/suppliers/${id}`, { token: admin, body: { leadTimeDays: 9 }, headers: { "if-match": '"v7"' } });
    expect(stale.status).toBe(412);
    const updated = await call("PUT", `/api/suppliers/${id}`, { token: admin, body: { leadTimeDays: 9, contactName: null }, headers: { "if-match": '"v1"' } });
    expect(updated.status).toBe(200);
    expect(updated.dbTrips).toBe(1);
    expect(updated.json).toMatchObject({ leadTimeDays: 9, contactName: null, version: 2 });

    const list = await call("GET", "/api/suppliers?search=kopi", { token: t.users.staff.token });
    expect(list.json.items.map((s: { id: string }) => s.id)).toEqual([id]);
    expect(list.json.pagination).toMatchObject({ total: 1, page: 1 });

    const removed = await call("DELETE", `/api/suppliers/${id}`, { token: admin });
    expect(removed.status).toBe(200);
    expect(removed.json.deletedAt).not.toBeNull();
    expect((await call("GET", `/api/suppliers/${id}`, { token: admin })).status).toBe(404);
    expect((await call("GET", "/api/suppliers", { token: admin })).json.items).toEqual([]);
    expect((await call("DELETE", `/api/suppliers/${id}`, { token: admin })).status).toBe(404);
    // Soft: the row stays for the purchase orders that name it.
    expect(Number((await query(ctx.db, sql`SELECT count(*) AS n FROM suppliers WHERE id = ${id}`))[0]!.n)).toBe(1);
  });

  it("links items to suppliers, one preferred per item, listed on the item; ?supplier= filters items", async () => {
    const t = await tenant();
    const admin = t.users.admin.token;
    const item = await insertItem(ctx.db, t.id, { name: "Arabica 1kg" });
    const other = await insertItem(ctx.db, t.id, { name: "Filter papers" });
    const a = await insertSupplier(ctx.db, t.id, { name: "Alpha", leadTimeDays: 4 });
    const b = await insertSupplier(ctx.db, t.id, { name: "Beta" });

    const first = await call("PUT", `/api/items/${item}/suppliers/${a}`, { token: admin, body: { unitCostCents: 700, supplierSku: "A-ARA", preferred: true } });
    expect(first.status).toBe(200);
    expect(first.dbTrips).toBe(batch(2));
    expect(first.json).toMatchObject({ itemId: item, supplierId: a, supplierName: "Alpha", unitCostCents: 700, leadTimeDays: null, effectiveLeadTimeDays: 4, minOrderQuantity: 1, preferred: true });
    // Making Beta preferred takes it from Alpha, in the same write.
    const second = await call("PUT", `/api/items/${item}/suppliers/${b}`, { token: admin, body: { unitCostCents: 650, leadTimeDays: 10, minOrderQuantity: 12, preferred: true } });
    expect(second.status).toBe(200);
    expect(second.dbTrips).toBe(batch(2));
    await call("PUT", `/api/items/${other}/suppliers/${a}`, { token: admin, body: { unitCostCents: 90 } });

    const shown = await call("GET", `/api/items/${item}`, { token: t.users.staff.token });
    expect(shown.dbTrips).toBe(1);
    expect(shown.json.suppliers.map((l: { supplierName: string; preferred: boolean }) => [l.supplierName, l.preferred])).toEqual([
      ["Beta", true],
      ["Alpha", false],
    ]);
    const listed = await call("GET", `/api/items/${item}/suppliers`, { token: t.users.staff.token });
    expect(listed.json.items).toHaveLength(2);

    const byAlpha = await call("GET", `/api/items?supplier=${a}`, { token: t.users.staff.token });
    expect(byAlpha.json.items.map((i: { id: string }) => i.id).sort()).toEqual([item, other].sort());
    const byBeta = await call("GET", `/api/items?supplier=${b}`, { token: t.users.staff.token });
    expect(byBeta.json.items.map((i: { id: string }) => i.id)).toEqual([item]);
    expect((await call("GET", "/api/items?supplier=nope", { token: admin })).status).toBe(400);

    // Unlink; unknown links, items, suppliers and other tenants' suppliers are 404.
    expect((await call("DELETE", `/api/items/${item}/suppliers/${b}`, { token: admin })).status).toBe(204);
    expect((await call("DELETE", `/api/items/${item}/suppliers/${b}`, { token: admin })).status).toBe(404);
    const foreign = await insertSupplier(ctx.db, (await ctx.tenant()).id);
    const refused = await call("PUT", `/api/items/${item}/suppliers/${foreign}`, { token: admin, body: { unitCostCents: 1 } });
    expect(refused.status).toBe(404);
    expect(errorOf(refused).message).toMatch(/Supplier/);
    // A deleted supplier's links disappear from the item.
    await call("DELETE", `/api/suppliers/${a}`, { token: admin });
    expect((await call("GET", `/api/items/${item}`, { token: admin })).json.suppliers).toEqual([]);
    expect((await call("GET", `/api/items?supplier=${a}`, { token: admin })).json.items).toEqual([]);
  });

  it("reorder suggestions use the preferred supplier's lead time, cost and minimum order, grouped by supplier", async () => {
    const t = await tenant();
    const admin = t.users.admin.token;
    // 2 units a day over the 28-day window for each item (written straight into the rollups).
    const beans = await insertItem(ctx.db, t.id, { name: "Beans", stock: 30 }); // 15 days of cover
    const cups = await insertItem(ctx.db, t.id, { name: "Cups", stock: 30 });
    const lids = await insertItem(ctx.db, t.id, { name: "Lids", stock: 10 }); // 5 days, no supplier
    for (const item of [beans, cups, lids]) {
      await query(ctx.db, sql`INSERT INTO sales_daily_items (tenant_id, day, item_id, units, revenue_cents, orders)
                              SELECT ${t.id}, d::date, ${item}, 2, 200, 1 FROM generate_series(current_date - 27, current_date, '1 day') d`);
    }
    const slow = await insertSupplier(ctx.db, t.id, { name: "Slow Roasters", leadTimeDays: 20 });
    const quick = await insertSupplier(ctx.db, t.id, { name: "Quick Cups", leadTimeDays: 20 });
    // Beans: the supplier's default 20 days (> 15 of cover). Cups: the link's own 3 days (< 15).
    await call("PUT", `/api/items/${beans}/suppliers/${slow}`, { token: admin, body: { unitCostCents: 500, minOrderQuantity: 50, preferred: true } });
    await call("PUT", `/api/items/${cups}/suppliers/${quick}`, { token: admin, body: { unitCostCents: 20, leadTimeDays: 3, preferred: true } });

    const got = await call("GET", "/api/analytics/reorder-suggestions?leadTimeDays=7&safetyDays=7", { token: t.users.staff.token });
    expect(got.status).toBe(200);
    expect(got.dbTrips).toBe(1);
    const rows = Object.fromEntries(got.json.items.map((i: { name: string }) => [i.name, i]));
    expect(Object.keys(rows).sort()).toEqual(["Beans", "Lids"]);
    // Beans: ceil(2 × (20 + 7)) − 30 = 24, raised to the supplier's minimum of 50, at 500 each.
    expect(rows.Beans).toMatchObject({ leadTimeDays: 20, suggestedQuantity: 50, supplierId: slow, supplierName: "Slow Roasters", unitCostCents: 500, estimatedCostCents: 25_000 });
    // Lids: no supplier, so the query's 7 days: ceil(2 × 14) − 10 = 18.
    expect(rows.Lids).toMatchObject({ leadTimeDays: 7, suggestedQuantity: 18, supplierId: null, estimatedCostCents: null });
    expect(got.json.suppliers.map((g: { supplierName: string | null; totalCostCents: number; items: unknown[] }) => [g.supplierName, g.totalCostCents, g.items.length])).toEqual([
      ["Slow Roasters", 25_000, 1],
      [null, 0, 1],
    ]);
  });

  it("GET /api/items/low-stock is the lowStock=true list under its own path (not /api/items/:id)", async () => {
    const t = await tenant();
    const low = await insertItem(ctx.db, t.id, { name: "Low", stock: 2 });
    await insertItem(ctx.db, t.id, { name: "Plenty", stock: 500 });
    const got = await call("GET", "/api/items/low-stock?limit=50", { token: t.users.staff.token });
    expect(got.status).toBe(200);
    expect(got.dbTrips).toBe(1);
    const same = await call("GET", "/api/items?lowStock=true&limit=50", { token: t.users.staff.token });
    expect(got.json).toEqual(same.json);
    expect(got.json.items.map((i: { id: string }) => i.id)).toEqual([low]);
    expect((await call("GET", "/api/items/low-stock?lowStock=false", { token: t.users.staff.token })).json.items).toHaveLength(1);
  });
});
