import { readFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { sql } from "drizzle-orm/sql/sql";
import { query } from "../db/atomic.js";
import { totalRoundTrips } from "../db/round-trips.js";
import { call } from "./support/client.js";
import { withCacheTarget } from "./support/cache-targets.js";
import { insertItem, type TestTenant } from "./support/fixtures.js";
import { eventsSettled } from "./support/events.js";
import { nextEvent, openSse, type SseConnection } from "./support/sse.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

// GET /api/events/stream (SSE) and POST /api/events/stream-token.

const saved = { ...process.env };
afterEach(() => {
  for (const key of ["EVENTS_STREAM_MAX_S", "EVENTS_HEARTBEAT_MS"]) {
    if (saved[key] === undefined) delete process.env[key];
    else process.env[key] = saved[key];
  }
});

const placeOrder = (t: TestTenant, itemId: string) => call("POST", "/api/orders", { token: t.users.staff.token, body: { channel: "call", items: [{ itemId, quantity: 1 }] } });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(dbTargets())("event stream on %s", (name) => {
  const ctx = withTarget(name);

  it("sends retry first, then new events as id/event/data with the stream headers; resumes after Last-Event-ID or ?after=", async () => {
    process.env.EVENTS_STREAM_MAX_S = "10";
    const t = await ctx.tenant();
    const other = await ctx.tenant();
    const item = await insertItem(ctx.db, t.id, { stock: 100 });
    const theirs = await insertItem(ctx.db, other.id, { stock: 100 });
    const before = (await placeOrder(t, item)).json;
    await eventsSettled(ctx.db, t.id); // else "the newest event" could still be before it

    const stream = await openSse("/api/events/stream", { token: t.users.staff.token });
    expect(stream.status).toBe(200);
    expect(stream.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(stream.headers.get("cache-control")).toBe("no-cache, no-transform");
    expect(stream.headers.get("content-encoding")).toBeNull();
    expect((await stream.next())!.retry).toBeGreaterThan(0);
    // Without a cursor it starts at the newest event: only what happens from now on.
    await placeOrder(other, theirs); // another tenant's: never sent here
    const after = (await placeOrder(t, item)).json;
    const frame = (await nextEvent(stream))!;
    expect(frame.event).toBe("order.created");
    const event = JSON.parse(frame.data!);
    expect(event).toMatchObject({ type: "order.created", tenantId: t.id, resource: { type: "order", id: after.id }, cursor: frame.id });
    expect(event.data.order).toEqual(after);
    await stream.close();

    await eventsSettled(ctx.db, t.id);
    const all = (await call("GET", "/api/events?type=order.*&limit=100", { token: t.users.admin.token })).json.items as { cursor: string; resource: { id: string } }[];
    expect(all.map((e) => e.resource.id)).toEqual([before.id, after.id]);
    const third = (await placeOrder(t, item)).json;

    const resumed = await openSse("/api/events/stream?types=order.*", { token: t.users.staff.token, lastEventId: all[0]!.cursor });
    expect(JSON.parse((await nextEvent(resumed))!.data!).resource.id).toBe(after.id);
    expect(JSON.parse((await nextEvent(resumed))!.data!).resource.id).toBe(third.id);
    await resumed.close();
    const byQuery = await openSse(`/api/events/stream?types=order.*&after=${all[0]!.cursor}`, { token: t.users.staff.token });
    expect(JSON.parse((await nextEvent(byQuery))!.data!).resource.id).toBe(after.id);
    await byQuery.close();
    // EventSource reconnects to the same URL with Last-Event-ID: the header wins over ?after=.
    const both = await openSse(`/api/events/stream?types=order.*&after=${all[0]!.cursor}`, { token: t.users.staff.token, lastEventId: all[1]!.cursor });
    expect(JSON.parse((await nextEvent(both))!.data!).resource.id).toBe(third.id);
    await both.close();
  });

  it("filters by types, sends heartbeats, and ends cleanly at its deadline", async () => {
    process.env.EVENTS_STREAM_MAX_S = "2";
    process.env.EVENTS_HEARTBEAT_MS = "300";
    const t = await ctx.tenant();
    const item = await insertItem(ctx.db, t.id, { stock: 100 });
    const stream = await openSse("/api/events/stream?types=item.updated,item.stock_*", { token: t.users.staff.token });
    await placeOrder(t, item);
    expect((await call("PUT", `/api/items/${item}`, { token: t.users.admin.token, body: { name: "Renamed" } })).status).toBe(200);
    const frames = [];
    for (let frame = await stream.next(); frame; frame = await stream.next()) frames.push(frame);
    // The body ended by itself (the deadline), with no error.
    expect(frames.map((f) => f.event).filter(Boolean)).toEqual(["item.updated"]);
    expect(frames.some((f) => f.comment === "heartbeat")).toBe(true);
    expect(frames.some((f) => f.comment?.includes("error"))).toBe(false);
  });

  it("refuses bad cursors and filters with 400, and needs a staff credential", async () => {
    const t = await ctx.tenant();
    for (const [path, lastEventId] of [
      ["/api/events/stream", "garbage"],
      ["/api/events/stream", "1.2.3"],
      ["/api/events/stream?after=zzz", undefined],
      ["/api/events/stream?types=nope", undefined],
    ] as const) {
      const answer = await openSse(path, { token: t.users.staff.token, lastEventId });
      expect(answer.status, `${path} ${lastEventId}`).toBe(400);
      expect(answer.errorBody.error.code).toBe("bad_request");
    }
    expect((await openSse("/api/events/stream")).status).toBe(401);
  });

  it("stream tokens: single use, 60 s, bound to their tenant; EventSource connects with ?token=", async () => {
    process.env.EVENTS_STREAM_MAX_S = "1";
    const t = await ctx.tenant();
    const other = await ctx.tenant();
    const issued = await call("POST", "/api/events/stream-token", { token: t.users.staff.token });
    expect(issued.status).toBe(201);
    const { token, expiresAt } = issued.json;
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Date.parse(expiresAt) - Date.now()).toBeLessThanOrEqual(60_000);
    expect(Date.parse(expiresAt) - Date.now()).toBeGreaterThan(50_000);

    const first = await openSse(`/api/events/stream?token=${token}`);
    expect(first.status).toBe(200);
    await first.close();
    const reused = await openSse(`/api/events/stream?token=${token}`);
    expect(reused.status).toBe(401);

    const forOther = (await call("POST", "/api/events/stream-token", { token: t.users.staff.token })).json.token;
    expect((await openSse(`/api/events/stream?token=${forOther}`, { headers: { "x-tenant": other.slug } })).status).toBe(401);
    expect((await openSse(`/api/events/stream?token=${"A".repeat(43)}`)).status).toBe(401);
    expect((await openSse(`/api/events/stream?token=short`)).status).toBe(401);

    // Expired: past its 60 s the token is worth nothing (the in-process store; Redis expires it itself).
    const late = (await call("POST", "/api/events/stream-token", { token: t.keys.staff.key })).json.token;
    const store = (globalThis as { __tallyStreamTokens?: Map<string, { expires: number }> }).__tallyStreamTokens;
    if (store) for (const entry of store.values()) entry.expires = Date.now() - 1;
    if (store) expect((await openSse(`/api/events/stream?token=${late}`)).status).toBe(401);
  });
});

describe("event stream deployment settings", () => {
  it("gives the stream function a maxDuration above the stream's own limit; Vercel applies the first matching pattern", () => {
    const functions = (JSON.parse(readFileSync("vercel.json", "utf8")) as { functions: Record<string, { maxDuration: number }> }).functions;
    const patterns = Object.keys(functions);
    expect(patterns[0]).toBe("api/events/stream.ts"); // before "api/**/*.ts" (15 s), which also matches it
    expect(functions["api/events/stream.ts"]!.maxDuration).toBeGreaterThan(290 + 5);
  });
});

// The guarantee under load: real Postgres and Redis in CI (TEST_DATABASE_URL, TEST_REDIS_URL),
// PGlite and the in-process marker otherwise, with smaller numbers.
const real = Boolean(process.env.TEST_DATABASE_URL);
describe(`event stream resume under concurrent writers (${real ? "Postgres" : "PGlite"}, ${process.env.TEST_REDIS_URL ? "Redis" : "in-process marker"})`, () => {
  const ctx = withTarget(real ? "node-postgres" : "pglite");
  withCacheTarget(process.env.TEST_REDIS_URL ? "upstash→redis" : "memory");
  const WRITERS = real ? 20 : 10;
  const EVENTS = real ? 1000 : 200;

  it(`${EVENTS} events by ${WRITERS} concurrent writers: a client that disconnects at random and resumes gets each exactly once, in order`, { timeout: 180_000 }, async () => {
    process.env.EVENTS_STREAM_MAX_S = "3"; // streams also end by themselves along the way
    const t = await ctx.tenant();
    const item = await insertItem(ctx.db, t.id, { stock: 1_000_000 });
    // Orders move stock far above the threshold: one order.created each, nothing else.
    let writing = true;
    const writers = Promise.all(
      Array.from({ length: WRITERS }, async () => {
        for (let i = 0; i < EVENTS / WRITERS; i++) {
          const placed = await placeOrder(t, item);
          if (placed.status !== 201) throw new Error(`order failed: ${placed.status} ${placed.text}`);
        }
      }),
    ).finally(() => (writing = false));

    const received: { cursor: string; type: string }[] = [];
    let connections = 0;
    let last = "0.0";
    const deadline = Date.now() + 170_000;
    while (Date.now() < deadline) {
      const stream: SseConnection = await openSse("/api/events/stream", { token: t.users.staff.token, lastEventId: last });
      expect(stream.status).toBe(200);
      connections++;
      // At most a tenth of the events per connection, so every run resumes at least ten times (a
      // quota of up to 60 let a lucky 200-event run finish in 5 connections).
      const quota = 1 + Math.floor(Math.random() * (EVENTS / 10));
      for (let n = 0; n < quota; n++) {
        const frame = await nextEvent(stream);
        if (!frame) break; // the stream ended at its deadline: reconnect
        received.push({ cursor: frame.id!, type: frame.event! });
        last = frame.id!;
      }
      await stream.close(); // a disconnect at a random point
      if (!writing && received.length >= EVENTS) break;
    }
    await writers;
    const expected = await query(ctx.db, sql`SELECT transaction_id::text || '.' || seq AS cursor FROM events WHERE tenant_id = ${t.id} ORDER BY transaction_id, seq`);
    expect(expected).toHaveLength(EVENTS);
    expect(received.map((r) => r.cursor)).toEqual(expected.map((r) => r.cursor));
    expect(received.every((r) => r.type === "order.created")).toBe(true);
    expect(connections).toBeGreaterThan(5);
  });

  it("50 idle streams cost no database query and share one marker poll; a write wakes them all", { timeout: 60_000 }, async () => {
    process.env.EVENTS_STREAM_MAX_S = "30";
    const t = await ctx.tenant();
    const item = await insertItem(ctx.db, t.id, { stock: 1000 });
    const streams = await Promise.all(Array.from({ length: 50 }, () => openSse("/api/events/stream", { token: t.users.staff.token })));
    await Promise.all(streams.map((s) => s.next())); // retry:
    await sleep(1500); // initial reads and the watcher's first look are done
    const db = totalRoundTrips("db");
    const redis = totalRoundTrips("redis");
    await sleep(3000);
    expect(totalRoundTrips("db") - db).toBe(0);
    // One marker read per poll for all 50 (with Redis every 250 ms once 4+ streams watch): ~12 in
    // 3 s, where the budget of one per stream per second would allow 150. None without Redis.
    expect(totalRoundTrips("redis") - redis).toBeLessThanOrEqual(process.env.TEST_REDIS_URL ? 3 * 4 + 2 : 0);

    const placed = (await placeOrder(t, item)).json;
    const got = await Promise.all(streams.map(async (s) => JSON.parse((await nextEvent(s))!.data!).resource.id));
    expect(new Set(got)).toEqual(new Set([placed.id]));
    await Promise.all(streams.map((s) => s.close()));
  });
});
