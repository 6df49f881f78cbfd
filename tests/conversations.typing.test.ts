import { afterEach, describe, expect, it } from "vitest";
import { sql } from "drizzle-orm/sql/sql";
import { query } from "../db/atomic.js";
import { call } from "./support/client.js";
import { cacheTargets, withCacheTarget } from "./support/cache-targets.js";
import { insertConversation } from "./support/fixtures.js";
import { nextEvent, openSse } from "./support/sse.js";
import { withTarget } from "./support/suite.js";

// Typing indicators: Redis (or the in-process store) only, delivered on the event stream.

const saved = process.env.EVENTS_STREAM_MAX_S;
afterEach(() => {
  if (saved === undefined) delete process.env.EVENTS_STREAM_MAX_S;
  else process.env.EVENTS_STREAM_MAX_S = saved;
});

describe.each(cacheTargets())("typing indicators with the %s store", (cacheName) => {
  const ctx = withTarget(process.env.TEST_DATABASE_URL ? "node-postgres" : "pglite");
  withCacheTarget(cacheName);

  it("reach the tenant's streams as `typing` for ~5 s, write nothing to the database, and never cross tenants", { timeout: 60_000 }, async () => {
    process.env.EVENTS_STREAM_MAX_S = "20";
    const t = await ctx.tenant();
    const other = await ctx.tenant("other");
    const conversationId = await insertConversation(ctx.db, t, "instagram");
    const customer = await call("GET", `/api/conversations/${conversationId}`, { token: t.users.staff.token });
    await call("PUT", `/api/customers/${customer.json.customerId}`, { token: t.users.staff.token, body: { socialHandle: "@typist" } });
    const mine = await openSse("/api/events/stream", { token: t.users.admin.token });
    const theirs = await openSse("/api/events/stream", { token: other.users.admin.token });
    await mine.next(); // retry:
    await theirs.next();
    await new Promise((resolve) => setTimeout(resolve, 1500)); // the watcher's first look

    const typed = await call("POST", `/api/conversations/${conversationId}/typing`, { token: t.users.staff.token });
    expect(typed.status, typed.text).toBe(200);
    // One read (does the thread exist here?), no write.
    expect(typed.dbTrips).toBe(1);
    const frame = await nextEvent(mine);
    expect(frame?.event).toBe("typing");
    expect(frame?.id).toBeUndefined();
    const data = JSON.parse(frame!.data!);
    expect(data).toMatchObject({ conversationId, actor: { type: "user", id: t.users.staff.id } });
    const ttl = Date.parse(data.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(2_000);
    expect(ttl).toBeLessThanOrEqual(5_000);

    // A connector reports the customer typing (an API key): found by handle in the open thread.
    const inbound = await call("POST", "/api/integrations/typing", { token: t.keys.staff.key, body: { channel: "instagram", from: { handle: "@TYPIST" } } });
    expect(inbound.json).toMatchObject({ conversationId });
    const next = await nextEvent(mine);
    expect(next?.event).toBe("typing");
    expect(JSON.parse(next!.data!)).toMatchObject({ conversationId, actor: { type: "customer", id: customer.json.customerId } });
    // Nobody typing there: nothing to show.
    const nobody = await call("POST", "/api/integrations/typing", { token: t.keys.staff.key, body: { channel: "whatsapp", from: { handle: "@typist" } } });
    expect(nobody.json).toEqual({ conversationId: null, expiresAt: null });

    // Another tenant's thread is a 404, and the other stream saw nothing but heartbeats.
    expect((await call("POST", `/api/conversations/${conversationId}/typing`, { token: other.users.staff.token })).status).toBe(404);
    const quiet = await Promise.race([nextEvent(theirs), new Promise((resolve) => setTimeout(() => resolve("quiet"), 2500))]);
    expect(quiet).toBe("quiet");
    // Typing left no trace in the database: no event, no message.
    const rows = await query(ctx.db, sql`SELECT (SELECT count(*) FROM events WHERE tenant_id = ${t.id}) + (SELECT count(*) FROM messages WHERE tenant_id = ${t.id}) AS n`);
    expect(Number(rows[0]!.n)).toBe(0);
    await mine.close();
    await theirs.close();
  });
});
