import { sql } from "drizzle-orm/sql/sql";
import { describe, expect, it } from "vitest";
import { query } from "../db/atomic.js";
import { call, errorOf } from "./support/client.js";
import { insertItem, insertSupplier, type TestTenant } from "./support/fixtures.js";
import { readAfter } from "../lib/events/repo.js";
import { START } from "../lib/events/cursor.js";
import { EVENT_TYPES, isEventType } from "../lib/events/catalog.js";
import { eventsSettled } from "./support/events.js";
import { validate } from "./support/json-schema.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

// Purchase orders and receiving (issue 15, part 2).
describe.each(dbTargets())("purchase orders on %s", (name) => {
  const ctx = withTarget(name);
  // One round trip for a batch of `statements` (node-postgres counts its BEGIN and COMMIT as trips of their own).
  const batch = (statements: number) => (ctx.kind === "node-postgres" ? statements + 2 : 1);
  const one = async (q: ReturnType<typeof sql>) => (await query(ctx.db, q))[0]!;
  const stockOf = async (id: string) => Number((await one(sql`SELECT stock FROM items WHERE id = ${id}`)).stock);
  const ledgerOf = async (id: string, reason = "receipt") => Number((await one(sql`SELECT coalesce(sum(delta), 0) AS s FROM stock_movements WHERE item_id = ${id} AND reason = ${reason}`)).s);
  const eventsOf = async (t: TestTenant, type: string) => Number((await one(sql`SELECT count(*) AS n FROM events WHERE tenant_id = ${t.id} AND type = ${type}`)).n);

  /** Every event of the tenant is in the catalog and matches its schema; their types. */
  async function cataloguedEvents(t: TestTenant): Promise<string[]> {
    await eventsSettled(ctx.db, t.id);
    const { events } = await readAfter(ctx.db, t.id, START, 1000);
    for (const event of events) {
      expect(isEventType(event.type), event.type).toBe(true);
      expect(validate(EVENT_TYPES[event.type as keyof typeof EVENT_TYPES].data as never, event.data), event.type).toEqual([]);
    }
    return events.map((e) => e.type);
  }

  async function shop() {
    const t = await ctx.tenant();
    for (const role of ["admin", "staff"] as const) expect((await call("GET", "/api/purchase-orders", { token: t.users[role].token })).status).toBe(200);
    const supplier = await insertSupplier(ctx.db, t.id, { name: "Kopi Jaya" });
    const beans = await insertItem(ctx.db, t.id, { name: "Beans", stock: 5 });
    const cups = await insertItem(ctx.db, t.id, { name: "Cups", stock: 0 });
    return { t, admin: t.users.admin.token, staff: t.users.staff.token, supplier, beans, cups };
  }

  async function draft(s: Awaited<ReturnType<typeof shop>>, lines = [{ itemId: s.beans, quantity: 10, unitCostCents: 400 }, { itemId: s.cups, quantity: 100, unitCostCents: 15 }]) {
    const made = await call("POST", "/api/purchase-orders", { token: s.admin, body: { supplierId: s.supplier, lines, expectedOn: "2030-01-15", notes: "Dock B" } });
    expect(made.status).toBe(201);
    return made;
  }

  it("drafts with per-tenant numbers PO-0001…, edits lines only while draft (If-Match), and walks the status machine", async () => {
    const s = await shop();
    const made = await draft(s);
    expect(made.dbTrips).toBe(1);
    expect(made.json).toMatchObject({ number: 1, reference: "PO-0001", status: "draft", supplierName: "Kopi Jaya", expectedOn: "2030-01-15", totalCents: 10 * 400 + 100 * 15, version: 1 });
    expect(made.json.lines.map((l: { name: string; receivedQuantity: number }) => [l.name, l.receivedQuantity])).toEqual([
      ["Beans", 0],
      ["Cups", 0],
    ]);
    expect((await draft(s)).json.reference).toBe("PO-0002");
    // Another tenant counts from 1 on its own.
    const other = await shop();
    expect((await draft(other)).json.reference).toBe("PO-0001");
    const id = made.json.id;

    const stale = await call("PUT", `/api/purchase-orders/${id}`, { token: s.admin, body: { lines: [{ itemId: s.beans, quantity: 12, unitCostCents: 400 }] }, headers: { "if-match": '"v9"' } });
    expect(stale.status).toBe(412);
    const edited = await call("PUT", `/api/purchase-orders/${id}`, { token: s.admin, body: { lines: [{ itemId: s.cups, quantity: 50, unitCostCents: 14 }, { itemId: s.beans, quantity: 12, unitCostCents: 400 }] }, headers: { "if-match": '"v1"' } });
    expect(edited.status).toBe(200);
    expect(edited.dbTrips).toBe(batch(2));
    expect(edited.json).toMatchObject({ version: 2, totalCents: 50 * 14 + 12 * 400 });
    expect(edited.json.lines.map((l: { name: string; quantity: number }) => [l.name, l.quantity])).toEqual([
      ["Cups", 50],
      ["Beans", 12],
    ]);
    expect((await call("GET", `/api/purchase-orders/${id}`, { token: s.staff })).json.lines).toEqual(edited.json.lines);
    const dropped = await call("PUT", `/api/purchase-orders/${id}`, { token: s.admin, body: { lines: [{ itemId: s.beans, quantity: 12, unitCostCents: 400 }] } });
    expect(dropped.json.lines).toHaveLength(1);
    const unknown = await call("PUT", `/api/purchase-orders/${id}`, { token: s.admin, body: { lines: [{ itemId: other.beans, quantity: 1, unitCostCents: 1 }] } });
    expect(unknown.status).toBe(422);
    expect(errorOf(unknown).details).toMatchObject([{ path: "lines.0.itemId" }]);

    const ordered = await call("PATCH", `/api/purchase-orders/${id}/status`, { token: s.admin, body: { status: "ordered" } });
    expect(ordered.status).toBe(200);
    expect(ordered.dbTrips).toBe(batch(2));
    expect(ordered.json.status).toBe("ordered");
    expect(ordered.json.orderedAt).not.toBeNull();
    const locked = await call("PUT", `/api/purchase-orders/${id}`, { token: s.admin, body: { lines: [{ itemId: s.beans, quantity: 1, unitCostCents: 400 }] } });
    expect(locked.status).toBe(409);
    expect(errorOf(locked).code).toBe("invalid_transition");
    // Notes and the expected date still change.
    expect((await call("PUT", `/api/purchase-orders/${id}`, { token: s.admin, body: { notes: "Dock A", expectedOn: null } })).json).toMatchObject({ notes: "Dock A", expectedOn: null });
    const back = await call("PATCH", `/api/purchase-orders/${id}/status`, { token: s.admin, body: { status: "ordered" } });
    expect(back.status).toBe(409);
    const cancelled = await call("PATCH", `/api/purchase-orders/${id}/status`, { token: s.admin, body: { status: "cancelled" } });
    expect(cancelled.json).toMatchObject({ status: "cancelled" });
    expect((await call("PATCH", `/api/purchase-orders/${id}/status`, { token: s.admin, body: { status: "closed" } })).status).toBe(409);
    expect(await eventsOf(s.t, "purchase_order.created")).toBe(2);
    expect(await eventsOf(s.t, "purchase_order.status_changed")).toBe(2);
    expect(new Set(await cataloguedEvents(s.t))).toEqual(new Set(["purchase_order.created", "purchase_order.updated", "purchase_order.status_changed"]));

    // Drafting for a deleted supplier or an unknown item fails whole and burns no number.
    const gone = await insertSupplier(ctx.db, s.t.id, { deleted: true });
    const refused = await call("POST", "/api/purchase-orders", { token: s.admin, body: { supplierId: gone, lines: [{ itemId: s.beans, quantity: 1, unitCostCents: 1 }] } });
    expect(refused.status).toBe(422);
    expect(errorOf(refused).details).toMatchObject([{ path: "supplierId" }]);
    expect((await draft(s)).json.reference).toBe("PO-0003");
  });

  it("lists newest first with status and supplier filters and keyset cursors", async () => {
    const s = await shop();
    const second = await insertSupplier(ctx.db, s.t.id, { name: "Cup Co" });
    const ids: string[] = [];
    for (let k = 0; k < 5; k++) ids.push((await draft(s)).json.id);
    const cupPo = await call("POST", "/api/purchase-orders", { token: s.admin, body: { supplierId: second, lines: [{ itemId: s.cups, quantity: 1, unitCostCents: 10 }] } });
    await call("PATCH", `/api/purchase-orders/${ids[0]}/status`, { token: s.admin, body: { status: "ordered" } });

    const first = await call("GET", "/api/purchase-orders?limit=10", { token: s.staff });
    expect(first.dbTrips).toBe(1);
    expect(first.json.items.map((p: { number: number }) => p.number)).toEqual([6, 5, 4, 3, 2, 1]);
    const seen: number[] = [];
    let cursor: string | null = "";
    while (cursor !== null) {
      const pageResult: Awaited<ReturnType<typeof call>> = await call("GET", `/api/purchase-orders?limit=10&supplier=${s.supplier}${cursor ? `&cursor=${cursor}` : ""}`, { token: s.staff });
      seen.push(...pageResult.json.items.map((p: { number: number }) => p.number));
      cursor = pageResult.json.pagination.nextCursor;
      if (seen.length > 10) break;
    }
    expect(seen).toEqual([5, 4, 3, 2, 1]);
    expect((await call("GET", "/api/purchase-orders?status=ordered", { token: s.staff })).json.items.map((p: { id: string }) => p.id)).toEqual([ids[0]]);
    expect((await call("GET", `/api/purchase-orders?supplier=${second}`, { token: s.staff })).json.items.map((p: { id: string }) => p.id)).toEqual([cupPo.json.id]);
    expect((await call("GET", "/api/purchase-orders?status=shipped", { token: s.staff })).status).toBe(400);
    expect((await call("GET", "/api/purchase-orders?cursor=garbage", { token: s.staff })).status).toBe(400);
  });

  it("receives in one write: stock and ledger up, received quantities, derived status; refuses over-receiving unless allowOver", async () => {
    const s = await shop();
    const po = (await draft(s)).json;
    // Nothing can arrive on a draft.
    const early = await call("POST", `/api/purchase-orders/${po.id}/receipts`, { token: s.staff, body: { lines: [{ itemId: s.beans, quantity: 1 }] } });
    expect(early.status).toBe(409);
    expect(errorOf(early).code).toBe("invalid_transition");
    await call("PATCH", `/api/purchase-orders/${po.id}/status`, { token: s.admin, body: { status: "ordered" } });

    const part = await call("POST", `/api/purchase-orders/${po.id}/receipts`, { token: s.staff, body: { lines: [{ itemId: s.beans, quantity: 4 }], note: "first pallet" } });
    expect(part.status).toBe(201);
    expect(part.dbTrips).toBe(batch(2));
    expect(part.json.purchaseOrder.status).toBe("partially_received");
    expect(part.json.purchaseOrder.lines.map((l: { receivedQuantity: number }) => l.receivedQuantity)).toEqual([4, 0]);
    expect(part.json.receipt).toMatchObject({ purchaseOrderId: po.id, lines: [{ itemId: s.beans, quantity: 4 }], note: "first pallet" });
    expect(await stockOf(s.beans)).toBe(9);
    expect(await ledgerOf(s.beans)).toBe(4);

    // Over-receiving: refused whole (the good line is not received either), then accepted with allowOver.
    const over = await call("POST", `/api/purchase-orders/${po.id}/receipts`, { token: s.staff, body: { lines: [{ itemId: s.cups, quantity: 100 }, { itemId: s.beans, quantity: 7 }] } });
    expect(over.status).toBe(409);
    expect(errorOf(over).details).toMatchObject([{ path: "lines.1.quantity", itemId: s.beans, ordered: 10, received: 4, outstanding: 6 }]);
    expect(await stockOf(s.cups)).toBe(0);
    const notOnPo = await call("POST", `/api/purchase-orders/${po.id}/receipts`, { token: s.staff, body: { lines: [{ itemId: await insertItem(ctx.db, s.t.id), quantity: 1 }] } });
    expect(notOnPo.status).toBe(422);
    expect(errorOf(notOnPo).details).toMatchObject([{ path: "lines.0.itemId" }]);

    const rest = await call("POST", `/api/purchase-orders/${po.id}/receipts`, { token: s.staff, body: { lines: [{ itemId: s.cups, quantity: 100 }, { itemId: s.beans, quantity: 7 }], allowOver: true } });
    expect(rest.status).toBe(201);
    expect(rest.json.purchaseOrder).toMatchObject({ status: "received" });
    expect(rest.json.purchaseOrder.receivedAt).not.toBeNull();
    expect(rest.json.purchaseOrder.lines.map((l: { receivedQuantity: number }) => l.receivedQuantity)).toEqual([11, 100]);
    expect(await stockOf(s.beans)).toBe(16);
    expect(await stockOf(s.cups)).toBe(100);
    expect(5 + (await ledgerOf(s.beans))).toBe(16);
    // A received PO takes nothing more.
    expect((await call("POST", `/api/purchase-orders/${po.id}/receipts`, { token: s.staff, body: { lines: [{ itemId: s.cups, quantity: 1 }], allowOver: true } })).status).toBe(409);
    expect(await eventsOf(s.t, "purchase_order.received")).toBe(2);
    expect(await cataloguedEvents(s.t)).toContain("purchase_order.received");
    // Cups went from 0 to 100: a restock event in the same write.
    expect(await eventsOf(s.t, "item.restocked")).toBeGreaterThanOrEqual(1);
    // Receipts of another tenant's PO are 404.
    const foreign = await shop();
    expect((await call("POST", `/api/purchase-orders/${po.id}/receipts`, { token: foreign.staff, body: { lines: [{ itemId: s.cups, quantity: 1 }] } })).status).toBe(404);
  });

  it("a short-shipped PO is closed; what arrived stays", async () => {
    const s = await shop();
    const po = (await draft(s)).json;
    await call("PATCH", `/api/purchase-orders/${po.id}/status`, { token: s.admin, body: { status: "ordered" } });
    await call("POST", `/api/purchase-orders/${po.id}/receipts`, { token: s.staff, body: { lines: [{ itemId: s.beans, quantity: 3 }] } });
    expect((await call("PATCH", `/api/purchase-orders/${po.id}/status`, { token: s.admin, body: { status: "cancelled" } })).status).toBe(409);
    const closed = await call("PATCH", `/api/purchase-orders/${po.id}/status`, { token: s.admin, body: { status: "closed" } });
    expect(closed.json).toMatchObject({ status: "closed" });
    expect(closed.json.closedAt).not.toBeNull();
    expect(await stockOf(s.beans)).toBe(8);
    expect((await call("POST", `/api/purchase-orders/${po.id}/receipts`, { token: s.staff, body: { lines: [{ itemId: s.beans, quantity: 1 }] } })).status).toBe(409);
  });

  it("concurrent receipts never receive more than ordered; stock = initial + ledger", async () => {
    const s = await shop();
    const po = (await draft(s, [{ itemId: s.beans, quantity: 10, unitCostCents: 100 }])).json;
    await call("PATCH", `/api/purchase-orders/${po.id}/status`, { token: s.admin, body: { status: "ordered" } });
    const results = await Promise.all(Array.from({ length: 8 }, () => call("POST", `/api/purchase-orders/${po.id}/receipts`, { token: s.staff, body: { lines: [{ itemId: s.beans, quantity: 3 }] } })));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((x) => x === 201)).toHaveLength(3);
    expect(statuses.every((x) => x === 201 || x === 409)).toBe(true);
    expect(await stockOf(s.beans)).toBe(5 + 9);
    expect(await ledgerOf(s.beans)).toBe(9);
    const final = await call("GET", `/api/purchase-orders/${po.id}`, { token: s.staff });
    expect(final.json).toMatchObject({ status: "partially_received", lines: [{ receivedQuantity: 9 }] });
  });

  it("drafts one PO per preferred supplier from the reorder suggestions, counting what is already on order", async () => {
    const s = await shop();
    const cupCo = await insertSupplier(ctx.db, s.t.id, { name: "Cup Co", leadTimeDays: 10 });
    const lids = await insertItem(ctx.db, s.t.id, { name: "Lids", stock: 0 });
    // 2 units a day over 28 days each.
    for (const item of [s.beans, s.cups, lids]) {
      await query(ctx.db, sql`INSERT INTO sales_daily_items (tenant_id, day, item_id, units, revenue_cents, orders)
                              SELECT ${s.t.id}, d::date, ${item}, 2, 200, 1 FROM generate_series(current_date - 27, current_date, '1 day') d`);
    }
    await call("PUT", `/api/items/${s.beans}/suppliers/${s.supplier}`, { token: s.admin, body: { unitCostCents: 400, leadTimeDays: 7, preferred: true } });
    await call("PUT", `/api/items/${s.cups}/suppliers/${cupCo}`, { token: s.admin, body: { unitCostCents: 15, minOrderQuantity: 100, preferred: true } });
    const drafted = await call("POST", "/api/purchase-orders/from-suggestions", { token: s.admin, body: {} });
    expect(drafted.status).toBe(201);
    expect(drafted.dbTrips).toBe(1);
    // Ordered by supplier name: Cup Co (PO-0001), Kopi Jaya (PO-0002).
    expect(drafted.json.purchaseOrders.map((p: { reference: string; supplierName: string; status: string }) => [p.reference, p.supplierName, p.status])).toEqual([
      ["PO-0001", "Cup Co", "draft"],
      ["PO-0002", "Kopi Jaya", "draft"],
    ]);
    // Cups: ceil(2 × (10 + 7)) − 0 = 34, raised to the minimum of 100. Beans: ceil(2 × 14) − 5 = 23.
    expect(drafted.json.purchaseOrders[0].lines).toMatchObject([{ itemId: s.cups, quantity: 100, unitCostCents: 15 }]);
    expect(drafted.json.purchaseOrders[1]).toMatchObject({ totalCents: 23 * 400, lines: [{ itemId: s.beans, quantity: 23 }] });
    expect(drafted.json.skipped).toEqual([{ itemId: lids, reason: "no preferred supplier" }]);
    // Already on order now: a second click drafts nothing.
    const again = await call("POST", "/api/purchase-orders/from-suggestions", { token: s.admin, body: { supplierId: s.supplier } });
    expect(again.status).toBe(200);
    expect(again.json.purchaseOrders).toEqual([]);
    expect(await eventsOf(s.t, "purchase_order.created")).toBe(2);
  });
});
