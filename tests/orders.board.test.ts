import { describe, expect, it } from "vitest";
import { call } from "./support/client.js";
import { insertItem } from "./support/fixtures.js";
import { eventsSettled } from "./support/events.js";
import { nextEvent, openSse } from "./support/sse.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

describe.each(dbTargets())("GET /api/orders/board on %s", (name) => {
  const ctx = withTarget(name);

  it("groups open orders by status with counts and the cursor to subscribe from; a later change streams after it", async () => {
    const configured = process.env.EVENTS_STREAM_MAX_S;
    process.env.EVENTS_STREAM_MAX_S = "10";
    const t = await ctx.tenant();
    const staff = t.users.staff.token;
    const item = await insertItem(ctx.db, t.id, { stock: 100 });
    const place = async () => (await call("POST", "/api/orders", { token: staff, body: { channel: "call", items: [{ itemId: item, quantity: 1 }] } })).json;
    const [a, b, c, d, e] = [await place(), await place(), await place(), await place(), await place()];
    await call("PATCH", `/api/orders/${b.id}/status`, { token: staff, body: { status: "confirmed" } });
    await call("PATCH", `/api/orders/${c.id}/status`, { token: staff, body: { status: "confirmed" } });
    await call("PATCH", `/api/orders/${c.id}/status`, { token: staff, body: { status: "preparing" } });
    await call("POST", `/api/orders/${d.id}/cancel`, { token: staff });
    for (const status of ["confirmed", "preparing", "ready", "completed"]) await call("PATCH", `/api/orders/${e.id}/status`, { token: staff, body: { status } });

    await eventsSettled(ctx.db, t.id); // so the board's cursor is the newest event
    const board = await call("GET", "/api/orders/board", { token: staff });
    expect(board.status).toBe(200);
    expect(board.dbTrips).toBeLessThanOrEqual(1);
    const ids = (status: string) => board.json.columns[status].map((o: { id: string }) => o.id);
    expect([ids("pending"), ids("confirmed"), ids("preparing"), ids("ready")]).toEqual([[a.id], [b.id], [c.id], []]);
    expect(board.json.counts).toEqual({ pending: 1, confirmed: 1, preparing: 1, ready: 0 });
    expect(board.json.columns.pending[0]).toEqual((await call("GET", `/api/orders/${a.id}`, { token: staff })).json);
    const newest = (await call("GET", "/api/events?limit=100", { token: t.users.admin.token })).json.items.at(-1);
    expect(board.json.cursor).toBe(newest.cursor);

    const stream = await openSse(`/api/events/stream?after=${board.json.cursor}`, { token: staff });
    await call("PATCH", `/api/orders/${a.id}/status`, { token: staff, body: { status: "confirmed" } });
    const frame = (await nextEvent(stream))!;
    expect(frame.event).toBe("order.status_changed");
    expect(JSON.parse(frame.data!).data.order).toMatchObject({ id: a.id, status: "confirmed", version: 2 });
    await stream.close();
    process.env.EVENTS_STREAM_MAX_S = configured;
  });

  it("starts empty with cursor 0.0 for a new tenant", async () => {
    const t = await ctx.tenant();
    const board = await call("GET", "/api/orders/board", { token: t.users.staff.token });
    expect(board.json).toEqual({ columns: { pending: [], confirmed: [], preparing: [], ready: [] }, counts: { pending: 0, confirmed: 0, preparing: 0, ready: 0 }, cursor: "0.0" });
  });
});
