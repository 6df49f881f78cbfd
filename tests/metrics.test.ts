import { randomUUID } from "node:crypto";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { query } from "../db/atomic.js";
import { sql } from "../db/sql.js";
import { totalRoundTrips } from "../db/round-trips.js";
import { setLogSink } from "../lib/platform/log.js";
import { getRedis } from "../lib/platform/redis.js";
import { DURATION_BUCKETS, fieldOf, metricsKey, pendingCounts } from "../lib/metrics/recorder.js";
import { cacheTargets, withCacheTarget } from "./support/cache-targets.js";
import { app, call, errorOf } from "./support/client.js";
import { insertItem, insertOrder, type TestTenant } from "./support/fixtures.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";
import { insertDeadDelivery, insertWebhook } from "./support/webhooks.js";

const TOKEN = "test-metrics-token-0123456789abcdef";

/** Prometheus text → { 'name{a="x",b="y"}': value }, labels in the order written. */
function parse(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

async function scrape() {
  const result = await call("GET", "/api/metrics", { token: TOKEN });
  expect(result.status, result.text).toBe(200);
  return { result, samples: parse(result.text) };
}

const withEnv = async <T>(vars: Record<string, string | undefined>, fn: () => Promise<T>): Promise<T> => {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  for (const [k, v] of Object.entries(vars)) v === undefined ? delete process.env[k] : (process.env[k] = v);
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) v === undefined ? delete process.env[k] : (process.env[k] = v);
  }
};

describe("GET /api/metrics: the token", () => {
  const ctx = withTarget("pglite");
  afterEach(() => void delete process.env.METRICS_TOKEN);

  it("is 404 while METRICS_TOKEN is unset, in production and elsewhere", async () => {
    for (const env of [{}, { VERCEL_ENV: "production" }, { NODE_ENV: "production" }]) {
      await withEnv(env, async () => {
        const result = await call("GET", "/api/metrics", { token: "anything" });
        expect(result.status).toBe(404);
        expect(errorOf(result).code).toBe("not_found");
      });
    }
  });

  it("is 401 without a token, with a wrong one, a prefix of it or a longer one; 200 with it", async () => {
    process.env.METRICS_TOKEN = TOKEN;
    for (const token of [undefined, "wrong", TOKEN.slice(0, -1), `${TOKEN}x`, TOKEN.toUpperCase()]) {
      const result = await call("GET", "/api/metrics", { token });
      expect(result.status, String(token)).toBe(401);
      expect(errorOf(result).code).toBe("unauthorized");
      expect(result.headers.get("www-authenticate")).toBe("Bearer");
      expect(result.text).not.toContain("tally_");
    }
    // A user's valid token is not the metrics token either.
    const t = await ctx.tenant();
    expect((await call("GET", "/api/metrics", { token: t.users.owner.token })).status).toBe(401);
    const { result } = await scrape();
    expect(result.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    expect(result.headers.get("cache-control")).toBe("no-store");
    expect(result.text).toContain("# TYPE tally_http_requests_total counter");
    expect(result.text).toContain("# TYPE tally_http_request_duration_seconds histogram");
  });

  it("counts wrong tokens as failed sign-ins (429 past the limit)", async () => {
    process.env.METRICS_TOKEN = TOKEN;
    await withEnv({ RATE_LIMIT_AUTH_FAILURES: "2" }, async () => {
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await call("GET", "/api/metrics", { token: "wrong", clientAddress: "203.0.113.77" })).status);
      expect(statuses).toEqual([401, 401, 429, 429]);
    });
  });
});

describe.each(cacheTargets())("request metrics on %s", (cacheName) => {
  const ctx = withTarget("pglite");
  withCacheTarget(cacheName);
  let t: TestTenant;
  beforeAll(async () => {
    process.env.METRICS_TOKEN = TOKEN;
    t = await ctx.tenant();
  });
  afterEach(() => app().settle());

  const reqs = (s: Map<string, number>, route: string, method: string, status: number) => s.get(`tally_http_requests_total{route="${route}",method="${method}",status="${status}"}`) ?? 0;

  it("counts requests by route pattern, method and status, with durations, cache results and database trips", async () => {
    const item = await insertItem(ctx.db, t.id);
    const token = t.users.staff.token;
    await call("GET", "/api/items", { token }); // loads the memberships: later trips are the route's own
    await app().settle();
    const before = (await scrape()).samples;
    for (let i = 0; i < 3; i++) {
      expect((await call("GET", `/api/items/${item}`, { token })).status).toBe(200);
      await app().settle(); // the first one's cache fill
    }
    expect((await call("GET", "/api/items/01a20813-0118-73be-a81c-b59c7a651c18", { token })).status).toBe(404);
    expect((await call("GET", "/api/health")).status).toBe(200);
    const after = (await scrape()).samples;
    const delta = (key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);

    expect(reqs(after, "/api/items/[id]", "GET", 200) - reqs(before, "/api/items/[id]", "GET", 200)).toBe(3);
    expect(reqs(after, "/api/items/[id]", "GET", 404) - reqs(before, "/api/items/[id]", "GET", 404)).toBe(1);
    expect(reqs(after, "/api/health", "GET", 200) - reqs(before, "/api/health", "GET", 200)).toBe(1);
    // No raw path ever becomes a label.
    expect([...after.keys()].some((k) => k.includes(item))).toBe(false);

    const series = 'route="/api/items/[id]",method="GET",status="200"';
    expect(delta(`tally_http_request_duration_seconds_count{${series}}`)).toBe(3);
    expect(delta(`tally_http_request_duration_seconds_bucket{${series},le="+Inf"}`)).toBe(3);
    const buckets = [...DURATION_BUCKETS.map(String), "+Inf"].map((le) => after.get(`tally_http_request_duration_seconds_bucket{${series},le="${le}"}`)!);
    expect(buckets.every((n, i) => i === 0 || n >= buckets[i - 1]!)).toBe(true);
    expect(delta(`tally_http_request_duration_seconds_sum{${series}}`)).toBeGreaterThan(0);

    expect(delta('tally_cache_lookups_total{result="hit"}')).toBe(2);
    // The first read; the 404 is an error, never an entry, and (as in Server-Timing) no cache result.
    expect(delta('tally_cache_lookups_total{result="miss"}')).toBe(1);
    expect(delta('tally_db_round_trips_total{route="/api/items/[id]"}')).toBe(2);
    expect(delta('tally_db_round_trips_total{route="/api/health"}')).toBe(1);
  });

  it("counts rate-limit rejections by policy", async () => {
    const before = (await scrape()).samples;
    const u = await ctx.tenant();
    await withEnv({ RATE_LIMIT_API: "2" }, async () => {
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await call("GET", "/api/customers", { token: u.users.staff.token })).status);
      expect(statuses).toEqual([200, 200, 429]);
    });
    const after = (await scrape()).samples;
    expect((after.get('tally_rate_limit_rejections_total{policy="api"}') ?? 0) - (before.get('tally_rate_limit_rejections_total{policy="api"}') ?? 0)).toBe(1);
    expect(reqs(after, "/api/customers", "GET", 429) - reqs(before, "/api/customers", "GET", 429)).toBe(1);
  });

  it("adds no database trip and no Redis trip: counts ride in the next trip the instance makes anyway", async () => {
    const item = await insertItem(ctx.db, t.id);
    const token = t.users.staff.token;
    await call("GET", `/api/items/${item}`, { token }); // miss, filled after the response
    await app().settle();
    const redisBefore = totalRoundTrips("redis");
    const dbBefore = totalRoundTrips("db");
    const hits = [];
    for (let i = 0; i < 5; i++) hits.push(await call("GET", `/api/items/${item}`, { token }));
    expect(hits.map((h) => [h.cache, h.dbTrips])).toEqual(Array(5).fill(["hit", 0]));
    expect(totalRoundTrips("db") - dbBefore).toBe(0);
    if (cacheName === "memory") {
      expect(totalRoundTrips("redis") - redisBefore).toBe(0);
      expect(hits.every((h) => h.redisTrips === 0)).toBe(true);
      return;
    }
    // With Redis: one trip per hit (rate limit + lookup), as without metrics — and the counts arrived.
    expect(hits.every((h) => h.redisTrips === 1)).toBe(true);
    expect(totalRoundTrips("redis") - redisBefore).toBe(5);
    const handle = (await getRedis())!;
    const field = fieldOf("req", "/api/items/[id]", "GET", "200");
    const pendingBefore = pendingCounts().get(field) ?? 0;
    const stored = Number((await handle.redis.hget(metricsKey(handle.prefix), field)) ?? 0);
    // This read's own pipeline carried whatever was still pending, ahead of the read.
    expect(pendingBefore).toBeGreaterThanOrEqual(1); // the last hit waited for a trip
    expect(pendingCounts().get(field) ?? 0).toBe(0);
    expect(stored).toBeGreaterThanOrEqual(6); // this test's 6 reads (the previous test's too)
  });
});

describe.each(dbTargets())("business gauges on %s", (name) => {
  const ctx = withTarget(name);
  beforeAll(() => void (process.env.METRICS_TOKEN = TOKEN));

  it("reads orders by status, low stock and the analytics refresh age in one database trip", async () => {
    const before = (await scrape()).samples;
    const t = await ctx.tenant();
    await insertOrder(ctx.db, t, "pending");
    await insertOrder(ctx.db, t, "pending");
    await insertOrder(ctx.db, t, "ready");
    await insertOrder(ctx.db, t, "completed");
    await insertItem(ctx.db, t.id, { stock: 0 }); // threshold 10 by default: low
    await insertDeadDelivery(ctx.db, t.id); // a dead letter is not backlog
    // Pay-later reservations: one holding 3 units, one past its end (awaiting the sweep), one paid.
    const [held, overdue, paid] = [await insertOrder(ctx.db, t, "pending"), await insertOrder(ctx.db, t, "pending"), await insertOrder(ctx.db, t, "confirmed")];
    await query(ctx.db, sql`UPDATE orders SET reserved_until = now() + interval '10 minutes', units = 3 WHERE id = ${held}`);
    await query(ctx.db, sql`UPDATE orders SET reserved_until = now() - interval '10 minutes' WHERE id = ${overdue}`);
    await query(ctx.db, sql`UPDATE orders SET reserved_until = now() + interval '10 minutes' WHERE id = ${paid}`);
    await query(ctx.db, sql`INSERT INTO deliveries (id, tenant_id, endpoint_id, event_type, payload, created_at) VALUES (${randomUUID()}, ${t.id}, ${await insertWebhook(ctx.db, t.id)}, 'webhook.test', '{}'::jsonb, now() - interval '1 hour')`);
    const refresh = await call("GET", "/api/cron/refresh-analytics", { headers: { authorization: `Bearer ${process.env.CRON_SECRET}` } });
    expect(refresh.status).toBe(200);
    const { result, samples: after } = await scrape();
    expect(result.dbTrips).toBe(1);
    const delta = (key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);
    expect(delta('tally_orders_open{status="pending"}')).toBe(4);
    expect(delta("tally_reservations_active")).toBe(1);
    expect(delta("tally_reservations_units")).toBe(3);
    expect(delta("tally_reservations_overdue")).toBe(1);
    expect(delta('tally_orders_open{status="ready"}')).toBe(1);
    expect(delta('tally_orders_open{status="confirmed"}')).toBe(1);
    expect([...after.keys()].some((k) => k.includes('status="completed"') && k.startsWith("tally_orders_open"))).toBe(false);
    // Each insertOrder adds a fixture item with stock 10 (threshold 10): also low.
    expect(delta("tally_items_low_stock")).toBe(8);
    expect(after.get("tally_database_up")).toBe(1);
    expect(after.get("tally_analytics_refresh_age_seconds")).toBeGreaterThanOrEqual(0);
    expect(after.get("tally_analytics_refresh_age_seconds")).toBeLessThan(60);
    expect(after.has("tally_blob_deletions_pending")).toBe(true);
    expect(delta('tally_deliveries_backlog{kind="webhook"}')).toBe(1);
    expect(after.get("tally_deliveries_oldest_pending_age_seconds")).toBeGreaterThanOrEqual(3600);
  });
});

describe("request log lines", () => {
  const ctx = withTarget("pglite");

  it("carry the route pattern and the principal type", async () => {
    const t = await ctx.tenant();
    const item = await insertItem(ctx.db, t.id);
    const lines: Record<string, unknown>[] = [];
    setLogSink((line) => void lines.push(JSON.parse(line)));
    try {
      await call("GET", `/api/items/${item}`, { token: t.users.staff.token });
      await call("GET", `/api/items/${item}`, { token: t.keys.staff.key });
      await call("GET", "/api/health");
      await call("GET", `/api/items/${item}`, { token: "garbage" });
      await call("GET", "/api/cron/events-retention", { headers: { authorization: `Bearer ${process.env.CRON_SECRET}` } });
    } finally {
      setLogSink(undefined);
    }
    const requests = lines.filter((l) => l.msg === "request").map((l) => [l.route, l.principal, l.status, l.path]);
    expect(requests).toEqual([
      ["/api/items/[id]", "user", 200, `/api/items/${item}`],
      ["/api/items/[id]", "api_key", 200, `/api/items/${item}`],
      ["/api/health", "anonymous", 200, "/api/health"],
      ["/api/items/[id]", "anonymous", 401, `/api/items/${item}`],
      ["/api/cron/events-retention", "cron", 200, "/api/cron/events-retention"],
    ]);
  });
});
