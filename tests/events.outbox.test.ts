import { describe, expect, it } from "vitest";
import { readAfter } from "../lib/events/repo.js";
import { START } from "../lib/events/cursor.js";
import { EVENT_ENVELOPE, EVENT_TYPES, isEventType } from "../lib/events/catalog.js";
import type { Event } from "../lib/events/repo.js";
import { call } from "./support/client.js";
import { insertItem, type TestTenant } from "./support/fixtures.js";
import { validate } from "./support/json-schema.js";
import { eventsSettled } from "./support/events.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

// The outbox: every change writes its events in the same atomic write; refused writes write none.

describe.each(dbTargets())("event outbox on %s", (name) => {
  const ctx = withTarget(name);

  async function eventsOf(t: TestTenant): Promise<Event[]> {
    await eventsSettled(ctx.db, t.id);
    const batch = await readAfter(ctx.db, t.id, START, 1000);
    for (const event of batch.events) {
      // Every event matches the envelope and its catalog entry.
      expect(validate(EVENT_ENVELOPE as never, event)).toEqual([]);
      expect(isEventType(event.type), event.type).toBe(true);
      expect(validate(EVENT_TYPES[event.type as keyof typeof EVENT_TYPES].data as never, event.data), event.type).toEqual([]);
      expect(event.tenantId).toBe(t.id);
    }
    return batch.events;
  }
  const types = (events: Event[]) => events.map((e) => e.type);

  it("orders: created, updated, status_changed, cancelled — with stock-level events, a snapshot, the actor", async () => {
    const t = await ctx.tenant();
    const staff = t.users.staff;
    const item = (await call("POST", "/api/items", { token: t.users.admin.token, body: { name: "Lamp", priceCents: 700, stock: 6, lowStockThreshold: 3 } })).json;
    const created = await call("POST", "/api/orders", { token: staff.token, body: { channel: "call", items: [{ itemId: item.id, quantity: 3 }], customer: { name: "Ana" } } });
    expect(created.status).toBe(201);
    const order = created.json;

    let events = await eventsOf(t);
    expect(types(events)).toEqual(["item.created", expect.stringMatching(/^(order\.created|item\.stock_low)$/), expect.stringMatching(/^(order\.created|item\.stock_low)$/)]);
    const placed = events.find((e) => e.type === "order.created")!;
    expect(placed.actor).toEqual({ type: "user", id: staff.id });
    expect(placed.resource).toEqual({ type: "order", id: order.id });
    expect(placed.data.order).toEqual(order); // renders without another fetch
    const low = events.find((e) => e.type === "item.stock_low")!;
    expect(low.data).toEqual({ itemId: item.id, name: "Lamp", sku: null, stock: 3, previousStock: 6, lowStockThreshold: 3 });

    const edited = await call("PUT", `/api/orders/${order.id}`, { token: staff.token, body: { notes: "ring twice", items: [{ itemId: item.id, quantity: 6 }] } });
    expect(edited.status).toBe(200);
    // One round trip with its events (node-postgres counts BEGIN and COMMIT as trips of their own).
    if (name !== "node-postgres") expect(edited.dbTrips).toBe(1);
    const confirmed = await call("PATCH", `/api/orders/${order.id}/status`, { token: staff.token, body: { status: "confirmed" } });
    expect(confirmed.status).toBe(200);
    const cancelled = await call("POST", `/api/orders/${order.id}/cancel`, { token: staff.token });
    expect(cancelled.status).toBe(200);
    events = (await eventsOf(t)).slice(3);
    expect(types(events).sort()).toEqual(["item.out_of_stock", "item.restocked", "order.cancelled", "order.status_changed", "order.updated"].sort());
    const byType = Object.fromEntries(events.map((e) => [e.type, e]));
    expect(byType["order.updated"]!.data).toMatchObject({ changes: ["items", "notes"], order: { notes: "ring twice", units: 6 } });
    expect(byType["item.out_of_stock"]!.data).toMatchObject({ stock: 0, previousStock: 3 });
    expect(byType["order.status_changed"]!.data).toMatchObject({ from: "pending", to: "confirmed", order: { status: "confirmed" } });
    expect(byType["order.cancelled"]!.data).toMatchObject({ from: "confirmed", order: cancelled.json });
    expect(byType["item.restocked"]!.data).toMatchObject({ stock: 6, previousStock: 0 });
    // Commit order: the order of the requests.
    expect(events.findIndex((e) => e.type === "order.updated")).toBeLessThan(events.findIndex((e) => e.type === "order.status_changed"));
    expect(events.findIndex((e) => e.type === "order.status_changed")).toBeLessThan(events.findIndex((e) => e.type === "order.cancelled"));
  });

  it("a refused write emits nothing; cancelling twice emits one order.cancelled", async () => {
    const t = await ctx.tenant();
    const staff = t.users.staff.token;
    const item = await insertItem(ctx.db, t.id, { stock: 2 });
    expect((await call("POST", "/api/orders", { token: staff, body: { channel: "call", items: [{ itemId: item, quantity: 3 }] } })).status).toBe(409);
    expect((await call("POST", "/api/orders", { token: staff, body: { channel: "call", items: [{ itemId: crypto.randomUUID(), quantity: 1 }] } })).status).toBe(422);
    expect(await eventsOf(t)).toEqual([]);

    const body = { channel: "call", items: [{ itemId: item, quantity: 1 }] };
    const order = (await call("POST", "/api/orders", { token: staff, body, headers: { "idempotency-key": "create-1" } })).json;
    const replayed = await call("POST", "/api/orders", { token: staff, body, headers: { "idempotency-key": "create-1" } });
    expect(replayed.headers.get("idempotent-replayed")).toBe("true"); // a replay writes nothing, so emits nothing
    expect((await call("PUT", `/api/orders/${order.id}`, { token: staff, body: { items: [{ itemId: item, quantity: 5 }] } })).status).toBe(409);
    expect((await call("PATCH", `/api/orders/${order.id}/status`, { token: staff, body: { status: "ready" } })).status).toBe(409);
    expect((await call("PUT", `/api/orders/${order.id}`, { token: staff, body: { notes: "x" }, headers: { "if-match": '"v9"' } })).status).toBe(412);
    const first = await call("POST", `/api/orders/${order.id}/cancel`, { token: staff, headers: { "idempotency-key": "cancel-1" } });
    const replay = await call("POST", `/api/orders/${order.id}/cancel`, { token: staff, headers: { "idempotency-key": "cancel-1" } });
    const again = await call("POST", `/api/orders/${order.id}/cancel`, { token: staff });
    expect([first.status, replay.status, again.status]).toEqual([200, 200, 409]);
    const events = await eventsOf(t);
    expect(types(events).filter((type) => type.startsWith("order."))).toEqual(["order.created", "order.cancelled"]);
  });

  it("items, stock adjustments and feedback emit their events; API keys act as api_key", async () => {
    const t = await ctx.tenant();
    const admin = t.users.admin.token;
    const key = t.keys.admin;
    const made = await call("POST", "/api/items", { token: key.key, body: { name: "Mug", priceCents: 300, stock: 1, lowStockThreshold: 2 } });
    expect(made.status).toBe(201);
    const id = made.json.id;
    expect((await call("POST", `/api/items/${id}/stock-adjustments`, { token: admin, body: { delta: -1, reason: "broken" } })).status).toBe(201);
    expect((await call("POST", `/api/items/${id}/stock-adjustments`, { token: admin, body: { delta: -1, reason: "oops" } })).status).toBe(409);
    expect((await call("POST", `/api/items/${id}/stock-adjustments`, { token: admin, body: { delta: 10, reason: "delivery" } })).status).toBe(201);
    expect((await call("PUT", `/api/items/${id}`, { token: admin, body: { stock: 2, version: 3 } })).status).toBe(200);
    expect((await call("DELETE", `/api/items/${id}`, { token: admin })).status).toBe(200);
    expect((await call("POST", `/api/items/${id}/restore`, { token: admin })).status).toBe(200);

    const order = (await call("POST", "/api/orders", { token: admin, body: { channel: "call", items: [{ itemId: id, quantity: 1 }] } })).json;
    expect((await call("POST", "/api/feedbacks", { token: admin, body: { orderId: order.id, rating: 4 } })).status).toBe(201);
    expect((await call("POST", "/api/feedbacks", { token: admin, body: { orderId: order.id, rating: 4 } })).status).toBe(409);

    const events = await eventsOf(t);
    expect(types(events)).toEqual([
      "item.created",
      "item.out_of_stock",
      "item.restocked",
      expect.stringMatching(/^item\.(updated|stock_low)$/),
      expect.stringMatching(/^item\.(updated|stock_low)$/),
      "item.deleted",
      "item.restored",
      "order.created", // stock 2 -> 1 stays low: no level event
      "feedback.received",
    ]);
    expect(events[0]!.actor).toEqual({ type: "api_key", id: key.id });
    expect(events[0]!.data.item).toEqual(made.json);
    expect(events.at(-1)!.data.feedback).toMatchObject({ orderId: order.id, rating: 4, source: "staff" });
    expect(events.filter((e) => e.type === "item.stock_low").map((e) => e.data.stock)).toEqual([2]);
  });

  it("members: invited, role_changed (also both sides of a transfer), removed; refusals emit nothing", async () => {
    const t = await ctx.tenant();
    const owner = t.users.owner.token;
    const invited = await call("POST", "/api/members", { token: owner, body: { email: "new@example.com", role: "staff" } });
    expect(invited.status).toBe(201);
    expect((await call("POST", "/api/members", { token: owner, body: { email: "new@example.com", role: "staff" } })).status).toBe(409);
    expect((await call("PATCH", `/api/members/${t.users.staff.id}`, { token: owner, body: { role: "admin" } })).status).toBe(200);
    expect((await call("PATCH", `/api/members/${t.users.owner.id}`, { token: t.users.admin.token, body: { role: "staff" } })).status).toBe(403);
    expect((await call("POST", "/api/tenant/transfer-ownership", { token: owner, body: { userId: t.users.admin.id } })).status).toBe(200);
    expect((await call("DELETE", `/api/members/${invited.json.invitationId}`, { token: owner })).status).toBe(204);
    const events = (await eventsOf(t)).filter((e) => e.type.startsWith("member."));
    expect(events.map((e) => [e.type, (e.data.member as any).email, (e.data.member as any).role, e.data.from ?? null])).toEqual([
      ["member.invited", "new@example.com", "staff", null],
      ["member.role_changed", t.users.staff.email, "admin", "staff"],
      expect.arrayContaining(["member.role_changed"]),
      expect.arrayContaining(["member.role_changed"]),
      ["member.removed", "new@example.com", "staff", null],
    ]);
    const transfer = events.slice(2, 4).map((e) => [(e.data.member as any).userId, e.data.from, (e.data.member as any).role]);
    expect(transfer).toEqual(expect.arrayContaining([[t.users.admin.id, "admin", "owner"], [t.users.owner.id, "owner", "admin"]]));
    expect(events.every((e) => e.actor.type === "user" && e.actor.id === t.users.owner.id)).toBe(true);
  });

  it("a customer's feedback through their link is feedback.received with a public actor; a spent link emits nothing", async () => {
    const t = await ctx.tenant();
    const item = await insertItem(ctx.db, t.id, { stock: 50 });
    const order = (await call("POST", "/api/orders", { token: t.users.staff.token, body: { channel: "call", items: [{ itemId: item, quantity: 1 }] } })).json;
    const { token } = (await call("POST", `/api/feedbacks/generate-token/${order.id}`, { token: t.users.staff.token })).json;
    expect((await call("POST", "/api/public/feedbacks", { body: { token, rating: 5, comment: "Great" } })).status).toBe(201);
    expect((await call("POST", "/api/public/feedbacks", { body: { token, rating: 1 } })).status).toBe(410);
    const received = (await eventsOf(t)).filter((e) => e.type === "feedback.received");
    expect(received).toHaveLength(1);
    expect(received[0]!.actor).toEqual({ type: "public", id: null });
    expect(received[0]!.data.feedback).toMatchObject({ orderId: order.id, rating: 5, comment: "Great", source: "customer" });
  });
});
