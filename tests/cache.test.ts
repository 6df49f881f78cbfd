import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { atomic } from "../db/atomic.js";
import type { DbHandle } from "../db/client.js";
import { installReplicas, readsPinnedToPrimary, replicaSetOf, withReadRouting } from "../db/replicas.js";
import { newId } from "../db/ids.js";
import { totalRoundTrips } from "../db/round-trips.js";
import { createResponseCache, isCacheable } from "../lib/cache/response-cache.js";
import { memoryStore } from "../lib/cache/store.js";
import { listItems } from "../lib/items/service.js";
import { getRedis } from "../lib/platform/redis.js";
import { cacheTargets, withCacheTarget } from "./support/cache-targets.js";
import { app, call } from "./support/client.js";
import { insertItem, SAMPLE_ITEM } from "./support/fixtures.js";
import { makeGif } from "./support/images.js";
import { withTarget } from "./support/suite.js";

describe.each(cacheTargets())("response cache on %s", (cacheName) => {
  const target = withCacheTarget(cacheName);
  const ctx = withTarget("pglite");
  // Rate limit and cache lookup share one Redis round trip; the in-process implementation has none.
  const trips = cacheName === "memory" ? 0 : 1;

  /** A tenant whose staff member is known (membership loaded, Redis scripts loaded). */
  async function warmTenant() {
    const t = await ctx.tenant();
    expect((await call("GET", "/api/items/deleted?limit=100", { token: t.users.staff.token })).status).toBe(200);
    await app().settle();
    return t;
  }

  it("serves a repeat GET from the cache with no database trip, one Redis trip, and working ETags", async () => {
    const t = await warmTenant();
    const token = t.users.staff.token;
    const id = await insertItem(ctx.db, t.id);
    const first = await call("GET", `/api/items/${id}`, { token });
    expect(first.status).toBe(200);
    expect(first.headers.get("x-cache")).toBe("MISS");
    expect([first.cache, first.dbTrips, first.redisTrips]).toEqual(["miss", 1, trips]);
    expect(first.headers.get("cache-control")).toBe("private, no-store");
    await app().settle();

    const second = await call("GET", `/api/items/${id}`, { token });
    expect(second.headers.get("x-cache")).toBe("HIT");
    expect([second.cache, second.dbTrips, second.redisTrips]).toEqual(["hit", 0, trips]);
    expect(second.text).toBe(first.text);
    expect(second.headers.get("etag")).toBe(first.headers.get("etag"));
    expect(second.headers.get("content-type")).toMatch(/^application\/json/);
    expect(second.headers.get("cache-control")).toBe("private, no-store");

    const notModified = await call("GET", `/api/items/${id}`, { token, headers: { "if-none-match": first.headers.get("etag")! } });
    expect([notModified.status, notModified.headers.get("x-cache"), notModified.dbTrips]).toEqual([304, "HIT", 0]);
  });

  it("sees orders, stock adjustments, images and customer edits on the next read of every cached view", async () => {
    const t = await warmTenant();
    const token = t.users.staff.token;
    const item = await insertItem(ctx.db, t.id, { stock: 10 });
    const read = async (path: string) => {
      const result = await call("GET", path, { token });
      await app().settle();
      return result;
    };
    expect((await read(`/api/items/${item}`)).json.stock).toBe(10);
    expect((await read(`/api/items/${item}`)).headers.get("x-cache")).toBe("HIT");
    expect((await read("/api/orders/all")).json.items).toHaveLength(0);
    expect((await read("/api/orders/priority")).json.items).toHaveLength(0);

    const order = await call("POST", "/api/orders", { token, body: { channel: "call", items: [{ itemId: item, quantity: 3 }], customer: { name: "Ola" } } });
    expect((await read(`/api/items/${item}`)).json.stock).toBe(7);
    expect((await read("/api/orders/all")).json.items).toHaveLength(1);
    expect((await read("/api/orders/priority")).json.items).toHaveLength(1);
    expect((await read(`/api/orders/${order.json.id}`)).json.status).toBe("pending");
    expect((await read(`/api/items/${item}/stock-movements`)).json.pagination.total).toBe(1);

    await call("PATCH", `/api/orders/${order.json.id}/status`, { token, body: { status: "confirmed" } });
    expect((await read(`/api/orders/${order.json.id}`)).json.status).toBe("confirmed");
    await call("PUT", `/api/customers/${order.json.customer.id}`, { token, body: { name: "Ola N." } });
    expect((await read(`/api/orders/${order.json.id}`)).json.customer.name).toBe("Ola N.");
    expect((await read(`/api/customers/${order.json.customer.id}`)).json.name).toBe("Ola N.");
    await call("POST", `/api/orders/${order.json.id}/cancel`, { token });
    expect((await read(`/api/items/${item}`)).json.stock).toBe(10);
    expect((await read("/api/orders/priority")).json.items).toHaveLength(0);
    await call("POST", `/api/items/${item}/stock-adjustments`, { token: t.users.admin.token, body: { delta: 5, reason: "count" } });
    expect((await read(`/api/items/${item}`)).json.stock).toBe(15);
    expect((await read(`/api/items/${item}/stock-movements`)).json.pagination.total).toBe(3);
    await call("PUT", `/api/items/${item}/image`, { token: t.users.admin.token, rawBody: makeGif(), headers: { "content-type": "image/gif" } });
    expect((await read(`/api/items/${item}`)).json.imageUrl).toMatch(/gif$/);
    await call("POST", "/api/customers", { token, body: { name: "Newcomer" } });
    expect((await read("/api/customers?search=newcomer")).json.pagination.total).toBe(1);
  });

  it("keys on the parsed, sorted query: equivalent URLs share an entry, different ones do not", async () => {
    const t = await warmTenant();
    const token = t.users.staff.token;
    await insertItem(ctx.db, t.id);
    expect((await call("GET", "/api/items?limit=10&page=1", { token })).headers.get("x-cache")).toBe("MISS");
    await app().settle();
    for (const path of ["/api/items?page=1&limit=10", "/api/items"]) {
      const same = await call("GET", path, { token });
      expect([same.headers.get("x-cache"), same.dbTrips], path).toEqual(["HIT", 0]);
    }
    expect((await call("GET", "/api/items?limit=20", { token })).headers.get("x-cache")).toBe("MISS");
  });

  it("answers 100 concurrent identical GETs on a cold key with exactly one database query", async () => {
    const t = await warmTenant();
    const token = t.users.staff.token;
    await insertItem(ctx.db, t.id, { name: "Stampede lamp" });
    const before = totalRoundTrips("db");
    const results = await Promise.all(Array.from({ length: 100 }, () => call("GET", "/api/items?search=lamp", { token })));
    expect(totalRoundTrips("db") - before).toBe(1);
    expect(new Set(results.map((r) => r.status))).toEqual(new Set([200]));
    expect(new Set(results.map((r) => r.text)).size).toBe(1);
    expect(results[0]!.json.items).toHaveLength(1);
    expect(results.map((r) => r.redisTrips).every((n) => n === trips)).toBe(true);
    await app().settle();
  });

  it("across two instances sharing the store, a cold key costs at most two database queries", async () => {
    const t = await warmTenant();
    await insertItem(ctx.db, t.id, { name: "Shared kettle" });
    const handle = await getRedis();
    const shared = memoryStore();
    const storeFor = async () => {
      if (!handle) return shared;
      const { redisStore } = await import("../lib/cache/redis-store.js");
      return redisStore(handle);
    };
    const instances = [createResponseCache(storeFor), createResponseCache(storeFor)];
    const input = { page: 1, limit: 10, search: "kettle" } as Parameters<typeof listItems>[1];
    const compute = async () => ({ status: 200, headers: {}, body: JSON.stringify(await listItems({ id: t.id, slug: t.slug }, input)) });
    const before = totalRoundTrips("db");
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => instances[i % 2]!.serve(t.id, "kettle", { ttl: 60, tags: ["items"] }, Promise.resolve(), compute)),
    );
    expect(totalRoundTrips("db") - before).toBeGreaterThanOrEqual(1);
    expect(totalRoundTrips("db") - before).toBeLessThanOrEqual(2);
    expect(new Set(results.map((r) => r.rendered.body)).size).toBe(1);
    expect(JSON.parse(results[0]!.rendered.body!).items[0].name).toBe("Shared kettle");
    await app().settle();
    // Both instances now read the filled entry.
    const after = await Promise.all(instances.map((c) => c.serve(t.id, "kettle", { ttl: 60, tags: ["items"] }, Promise.resolve(), compute)));
    expect(after.map((r) => r.state)).toEqual(["hit", "hit"]);
  });

  it("after a Redis outage swallowed a write's version bump, another instance serves the old entry for at most CACHE_MAX_STALE_S", async () => {
    const handle = await getRedis();
    const shared = memoryStore();
    let down = false;
    const outage = () => new Error("Redis unreachable");
    // Instance A (the writer) and instance B (the reader): separate caches, separate store clients,
    // one Redis (through the Upstash bridge) or one shared map. The outage hits the bridge itself, or
    // for the in-process store every call A makes while it lasts.
    const storeOf = async (instance: "A" | "B") => {
      const store = handle ? (await import("../lib/cache/redis-store.js")).redisStore(handle) : shared;
      if (handle || instance === "B") return store;
      return { ...store, lookup: (...a: Parameters<typeof store.lookup>) => (down ? Promise.reject(outage()) : store.lookup(...a)), bump: (...a: Parameters<typeof store.bump>) => (down ? Promise.reject(outage()) : store.bump(...a)) };
    };
    const setDown = (value: boolean) => {
      down = value;
      target.bridge?.fault(value ? "error" : "none");
    };
    let clock = Date.UTC(2026, 0, 1, 12);
    const clockOf = { now: () => clock, maxStaleMs: () => 60_000 };
    const storeA = storeOf("A");
    const storeB = storeOf("B");
    const a = createResponseCache(() => storeA, clockOf);
    const b = createResponseCache(() => storeB, clockOf);
    const tenant = crypto.randomUUID();
    let stock = 50;
    const compute = async () => ({ status: 200, headers: {}, body: JSON.stringify({ stock }) });
    const read = async (cache: typeof a) => {
      const served = await cache.serve(tenant, "item", { ttl: 86_400, tags: ["items"] }, Promise.resolve(), compute);
      await app().settle();
      return [served.state, JSON.parse(served.rendered.body!).stock];
    };

    expect(await read(b)).toEqual(["miss", 50]);
    expect(await read(b)).toEqual(["hit", 50]);
    clock += 5_000;
    // The write commits during the outage; A's version bump fails and A is never heard of again.
    setDown(true);
    stock = 45;
    await expect(a.invalidate(tenant, ["items"])).rejects.toThrow();
    setDown(false);
    // Redis is back. B still finds the old entry under the versions it was built with: stale,
    // but only while it is younger than the bound (built at t0, now t0 + 5 s ... t0 + 60 s).
    expect(await read(b)).toEqual(["hit", 50]);
    clock += 55_000;
    expect(await read(b)).toEqual(["hit", 50]);
    clock += 1;
    expect(await read(b)).toEqual(["miss", 45]);
    expect(await read(b)).toEqual(["hit", 45]);
    // Were A to come back, its pending bump would still go out ahead of its first lookup.
    expect(await read(a)).toEqual(["miss", 45]);
    expect(await read(b)).toEqual(["hit", 45]);
  });

  it("a miss within the replicas' staleness window after a write to its tags reads the primary; later misses may read a replica", async () => {
    const handle = await getRedis();
    const shared = memoryStore();
    const store = handle ? (await import("../lib/cache/redis-store.js")).redisStore(handle) : shared;
    let clock = Date.UTC(2026, 0, 1, 12);
    const cache = createResponseCache(async () => store, { now: () => clock, maxStaleMs: () => 60_000 });
    const settings = { maxLagMs: 1000, sampleMs: 500, retryAfterMs: 30_000 };
    installReplicas(replicaSetOf([{ host: "replica:5432", handle: {} as DbHandle }], settings));
    try {
      const tenant = crypto.randomUUID();
      let n = 0;
      /** Whether a miss for a fresh key, tagged `tags`, computes with its reads pinned to the primary. */
      const pinnedOnMiss = (tags: string[]) =>
        withReadRouting({ primary: false }, async () => {
          let pinned: boolean | undefined;
          const served = await cache.serve(tenant, `key ${n++}`, { ttl: 60, tags }, Promise.resolve(), async () => {
            pinned = readsPinnedToPrimary();
            return { status: 200, headers: {}, body: "{}" };
          });
          await app().settle();
          expect(served.state).toBe("miss");
          return pinned;
        });
      // Never written: the replica.
      expect(await pinnedOnMiss(["items"])).toBe(false);
      await cache.invalidate(tenant, ["items"]);
      // Within maxLag + sample (1.5 s) of the write: the primary, for any key carrying the tag...
      clock += 1_000;
      expect(await pinnedOnMiss(["items"])).toBe(true);
      expect(await pinnedOnMiss(["categories", "items"])).toBe(true);
      // ...but not for keys that do not depend on what was written.
      expect(await pinnedOnMiss(["categories"])).toBe(false);
      clock += 499;
      expect(await pinnedOnMiss(["items"])).toBe(true);
      // Once the window has passed, every replica still in use has the write.
      clock += 1;
      expect(await pinnedOnMiss(["items"])).toBe(false);
      // Without replicas there is nothing to pin.
      await cache.invalidate(tenant, ["items"]);
      installReplicas(replicaSetOf([], settings));
      expect(await pinnedOnMiss(["items"])).toBe(false);
    } finally {
      installReplicas(undefined);
    }
  });

  it("shows every write on the very next GET", async () => {
    const t = await warmTenant();
    const admin = t.users.admin.token;
    const read = async () => {
      const [list, deleted] = [await call("GET", "/api/items", { token: admin }), await call("GET", "/api/items/deleted", { token: admin })];
      await app().settle();
      return { live: list.json.items.map((i: { name: string }) => i.name), deleted: deleted.json.items.map((i: { name: string }) => i.name) };
    };
    const byId = async (id: string) => {
      const result = await call("GET", `/api/items/${id}`, { token: admin });
      await app().settle();
      return result;
    };
    await read();
    const created = await call("POST", "/api/items", { token: admin, body: { ...SAMPLE_ITEM, name: "Fresh mug" } });
    const id = created.json.id;
    expect(await read()).toEqual({ live: ["Fresh mug"], deleted: [] });
    expect((await byId(id)).json.stock).toBe(20);

    // (A stock set would give the item ledger history, and the purge at the end would be refused.)
    await call("PUT", `/api/items/${id}`, { token: admin, body: { priceCents: 777 } });
    expect((await byId(id)).json.priceCents).toBe(777);
    expect((await call("GET", "/api/items", { token: admin })).json.items[0].priceCents).toBe(777);

    await call("DELETE", `/api/items/${id}`, { token: admin });
    expect((await byId(id)).status).toBe(404);
    expect(await read()).toEqual({ live: [], deleted: ["Fresh mug"] });

    await call("POST", `/api/items/${id}/restore`, { token: admin });
    expect((await byId(id)).status).toBe(200);
    expect(await read()).toEqual({ live: ["Fresh mug"], deleted: [] });

    await call("DELETE", `/api/items/${id}`, { token: admin });
    await read();
    expect((await call("DELETE", `/api/items/${id}/permanent`, { token: admin })).status).toBe(204);
    expect(await read()).toEqual({ live: [], deleted: [] });
  });

  it("never serves one tenant's cached response to another", async () => {
    const a = await warmTenant();
    const b = await warmTenant();
    await insertItem(ctx.db, a.id, { name: "Only in A" });
    const fromA = await call("GET", "/api/items?search=only", { token: a.users.staff.token });
    expect(fromA.json.items).toHaveLength(1);
    await app().settle();
    const fromB = await call("GET", "/api/items?search=only", { token: b.users.staff.token });
    expect([fromB.headers.get("x-cache"), fromB.json.items.length]).toEqual(["MISS", 0]);
  });

  it("does not cache errors", async () => {
    const t = await warmTenant();
    const id = newId();
    expect((await call("GET", `/api/items/${id}`, { token: t.users.staff.token })).status).toBe(404);
    await app().settle();
    // Inserted behind the API's back (no invalidation): only an uncached 404 lets it show up.
    await atomic(ctx.db, [sql`INSERT INTO items (id, tenant_id, name, price_cents) VALUES (${id}, ${t.id}, 'Late arrival', 100)`]);
    const again = await call("GET", `/api/items/${id}`, { token: t.users.staff.token });
    expect([again.status, again.json.name]).toEqual([200, "Late arrival"]);
  });
});

describe("cacheable responses", () => {
  const ok = (body: unknown, status = 200) => isCacheable({ status, headers: {}, body: JSON.stringify(body) });
  it("accepts successful JSON objects, whole pages and unpaged lists only", () => {
    expect(ok({ id: "x" })).toBe(true);
    expect(ok({ items: [], pagination: { page: 1, limit: 10, total: 0, totalPages: 0 } })).toBe(true);
    // Unpaged lists (/api/orders/all, /api/orders/priority) carry items without pagination.
    expect(ok({ items: [], truncated: false })).toBe(true);
    expect(ok({ items: "nope" })).toBe(false);
    expect(ok({ pagination: { page: 1, limit: 10, total: 0, totalPages: 0 } })).toBe(false);
    expect(ok({ items: {}, pagination: { page: 1, limit: 10, total: 0, totalPages: 0 } })).toBe(false);
    expect(ok({ items: [], pagination: { page: 1, limit: 10, total: "0", totalPages: 0 } })).toBe(false);
    expect(ok({ error: { code: "not_found" } }, 404)).toBe(false);
    expect(ok({ id: "x" }, 304)).toBe(false);
    expect(ok([1, 2])).toBe(false);
    expect(isCacheable({ status: 200, headers: {}, body: "{not json" })).toBe(false);
    expect(isCacheable({ status: 204, headers: {} })).toBe(false);
  });
});

describe("cached routes that also speak CSV", () => {
  const ctx = withTarget("pglite");

  it("never answers a CSV request from the JSON entry, or the reverse", async () => {
    const t = await ctx.tenant();
    const token = t.users.staff.token;
    const json = await call("GET", "/api/analytics/sales", { token });
    expect(json.headers.get("content-type")).toMatch(/^application\/json/);
    await app().settle();
    const csv = await call("GET", "/api/analytics/sales", { token, headers: { accept: "text/csv" } });
    expect(csv.headers.get("content-type")).toMatch(/^text\/csv/);
    await app().settle();
    const again = await call("GET", "/api/analytics/sales", { token });
    expect([again.headers.get("content-type")?.startsWith("application/json"), again.headers.get("x-cache")]).toEqual([true, "HIT"]);
  });
});

describe("analytics reports after a refresh", () => {
  const ctx = withTarget("pglite");

  it("are recomputed at once for the tenants whose days changed, not a minute later", async () => {
    const t = await ctx.tenant();
    const token = t.users.staff.token;
    const item = await insertItem(ctx.db, t.id, { stock: 10 });
    const cron = () => call("GET", "/api/cron/refresh-analytics", { token: process.env.CRON_SECRET });
    await cron();
    const before = await call("GET", "/api/analytics/sales", { token });
    await app().settle();
    expect((await call("GET", "/api/analytics/sales", { token })).headers.get("x-cache")).toBe("HIT");
    await call("POST", "/api/orders", { token, body: { channel: "web", items: [{ itemId: item, quantity: 2 }] } });
    expect((await cron()).json.refreshed).toBe(true);
    const after = await call("GET", "/api/analytics/sales", { token });
    expect(after.headers.get("x-cache")).toBe("MISS");
    expect(after.json.totals.units - before.json.totals.units).toBe(2);
  });
});
