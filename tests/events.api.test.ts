import { sql } from "drizzle-orm/sql/sql";
import { afterEach, describe, expect, it } from "vitest";
import { atomic, query } from "../db/atomic.js";
import { EVENT_TYPES } from "../lib/events/catalog.js";
import { call } from "./support/client.js";
import { insertItem, type TestTenant } from "./support/fixtures.js";
import { eventsSettled } from "./support/events.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

describe.each(dbTargets())("GET /api/events on %s", (name) => {
  const ctx = withTarget(name);

  async function activity(t: TestTenant) {
    const staff = t.users.staff.token;
    const item = await insertItem(ctx.db, t.id, { stock: 50 });
    const orders: string[] = [];
    for (let i = 0; i < 3; i++) {
      orders.push((await call("POST", "/api/orders", { token: staff, body: { channel: "call", items: [{ itemId: item, quantity: 1 }] } })).json.id);
    }
    await call("PATCH", `/api/orders/${orders[0]}/status`, { token: staff, body: { status: "confirmed" } });
    await call("POST", `/api/orders/${orders[1]}/cancel`, { token: t.keys.staff.key });
    await call("PUT", `/api/items/${item}`, { token: t.users.admin.token, body: { name: "Renamed" } });
    return { item, orders };
  }

  it("pages the audit trail in commit order with a keyset cursor, and filters", async () => {
    const t = await ctx.tenant();
    const admin = t.users.admin.token;
    const { item, orders } = await activity(t);
    await eventsSettled(ctx.db, t.id);

    const all = await call("GET", "/api/events?limit=100", { token: admin });
    expect(all.status).toBe(200);
    expect(all.dbTrips).toBeLessThanOrEqual(1);
    expect(all.json.items.map((e: { type: string }) => e.type)).toEqual([
      "order.created",
      "order.created",
      "order.created",
      "order.status_changed",
      "order.cancelled",
      "item.updated",
    ]);
    expect(all.json.pagination).toEqual({ limit: 100, nextCursor: null });

    // Keyset pages of 10 over 12 events: the second page starts right after the first.
    for (let i = 0; i < 6; i++) await call("POST", "/api/orders", { token: t.users.staff.token, body: { channel: "call", items: [{ itemId: item, quantity: 1 }] } });
    await eventsSettled(ctx.db, t.id);
    const first = await call("GET", "/api/events", { token: admin });
    expect(first.json.items).toHaveLength(10);
    const second = await call("GET", `/api/events?cursor=${first.json.pagination.nextCursor}`, { token: admin });
    expect(second.json.items).toHaveLength(2);
    expect(second.json.pagination.nextCursor).toBeNull();
    const cursors = [...first.json.items, ...second.json.items].map((e: { cursor: string }) => e.cursor);
    expect(new Set(cursors).size).toBe(12);

    const typeOf = async (q: string) => (await call("GET", `/api/events?limit=100&${q}`, { token: admin })).json.items.map((e: { type: string }) => e.type);
    expect(await typeOf("type=order.cancelled")).toEqual(["order.cancelled"]);
    expect(new Set(await typeOf("type=order.*"))).toEqual(new Set(["order.created", "order.status_changed", "order.cancelled"]));
    expect(await typeOf("type=item.*,order.status_changed")).toEqual(["order.status_changed", "item.updated"]);
    expect(await typeOf(`resource=order:${orders[1]}`)).toEqual(["order.created", "order.cancelled"]);
    expect(await typeOf("resource=item")).toEqual(["item.updated"]);
    expect(await typeOf(`actor=api_key:${t.keys.staff.id}`)).toEqual(["order.cancelled"]);
    expect(await typeOf(`actor=user:${t.users.admin.id}`)).toEqual(["item.updated"]);
    expect(await typeOf(`from=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).toEqual([]);
    expect((await typeOf(`to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).length).toBe(12);
  });

  it("is admin-only, tenant-scoped, and refuses bad filters with 400", async () => {
    const t = await ctx.tenant();
    const other = await ctx.tenant();
    await activity(other);
    expect((await call("GET", "/api/events", { token: t.users.staff.token })).status).toBe(403);
    expect((await call("GET", "/api/events", { token: t.users.admin.token })).json.items).toEqual([]);
    for (const q of ["cursor=abc", "cursor=1.2.3", "cursor=99999999999999999999.1", "type=nope", "type=order.nope", "type=zzz.*", "resource=order:xyz", "actor=root", "from=yesterday", "limit=7"]) {
      const answer = await call("GET", `/api/events?${q}`, { token: t.users.admin.token });
      expect(answer.status, q).toBe(400);
      expect(answer.json.error.code, q).toBe("bad_request");
    }
  });

  it("serves the catalog: every type with its data schema and a version", async () => {
    const t = await ctx.tenant();
    const answer = await call("GET", "/api/events/catalog", { token: t.users.staff.token });
    expect(answer.status).toBe(200);
    expect(answer.json.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(answer.json.types.map((x: { type: string }) => x.type)).toEqual(Object.keys(EVENT_TYPES));
  });

  describe("retention cron", () => {
    const configured = { secret: process.env.CRON_SECRET, days: process.env.EVENTS_RETENTION_DAYS };
    afterEach(() => {
      for (const [key, value] of [["CRON_SECRET", configured.secret], ["EVENTS_RETENTION_DAYS", configured.days]] as const) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
    });

    it("deletes events older than the retention period (default 90 days, configurable), keeps the rest", async () => {
      process.env.CRON_SECRET = "events-cron-secret";
      delete process.env.EVENTS_RETENTION_DAYS;
      const t = await ctx.tenant();
      const at = (days: number) => sql`INSERT INTO events (id, tenant_id, type, actor_type, resource_type, resource_id, data, occurred_at)
        VALUES (gen_random_uuid(), ${t.id}, 'order.created', 'system', 'order', ${`d${days}`}, '{}', now() - make_interval(days => ${days}))`;
      await atomic(ctx.db, [at(100), at(91), at(89), at(10)]);
      const left = async () => (await query(ctx.db, sql`SELECT resource_id FROM events WHERE tenant_id = ${t.id} ORDER BY resource_id`)).map((r) => r.resource_id);

      expect((await call("GET", "/api/cron/events-retention")).status).toBe(401);
      const run = await call("GET", "/api/cron/events-retention", { headers: { authorization: "Bearer events-cron-secret" } });
      expect(run.status).toBe(200);
      expect(run.json).toMatchObject({ retentionDays: 90 });
      expect(await left()).toEqual(["d10", "d89"]);
      process.env.EVENTS_RETENTION_DAYS = "30";
      await call("GET", "/api/cron/events-retention", { headers: { authorization: "Bearer events-cron-secret" } });
      expect(await left()).toEqual(["d10"]);
    });
  });
});
