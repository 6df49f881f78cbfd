import { createServer } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createRedis, installRedis } from "../lib/platform/redis.js";
import { ROUTES } from "./support/catalog.js";
import { runPrefix } from "./support/cache-targets.js";
import { app, call, errorOf } from "./support/client.js";
import { SAMPLE_ITEM, type TestTenant } from "./support/fixtures.js";
import { withTarget } from "./support/suite.js";
import { declarationOf } from "./support/schemas.js";
import { startUpstashBridge, type UpstashBridge } from "./support/upstash-bridge.js";

// Every route, with valid input, must answer as it would with a healthy Redis — but those whose data
// lives in Redis only (shop carts, typing indicators): 503 unavailable, never a 500.
async function walkEveryRoute(db: Parameters<NonNullable<(typeof ROUTES)[number]["target"]>>[0], tenant: TestTenant) {
  for (const spec of ROUTES.filter((r) => r.walk !== false)) {
    const path = spec.target ? await spec.target(db, tenant) : spec.pattern;
    const body = spec.validBody ? await spec.validBody(db, tenant) : spec.body;
    const raw = spec.raw?.();
    const token = spec.role === "cron" ? process.env.CRON_SECRET : tenant.users.owner.token;
    const result = raw
      ? await call(spec.method, path, { token, rawBody: raw.bytes, headers: { "content-type": raw.contentType } })
      : await call(spec.method, path, { token, body });
    if (spec.redisData) {
      expect(result.status, `${spec.method} ${spec.pattern}`).toBe(503);
      expect(errorOf(result).code).toBe("unavailable");
      continue;
    }
    expect(result.status, `${spec.method} ${spec.pattern}`).toBe(spec.success ?? 200);
    // The item reads that are cached (not the streamed export, not the expiring-soon list) bypass the cache.
    if (spec.method === "GET" && spec.pattern.startsWith("/api/items") && (await declarationOf(spec)).policy.cache) {
      expect([result.headers.get("x-cache"), result.cache], `${spec.method} ${spec.pattern}`).toEqual(["MISS", "bypass"]);
    }
  }
  const health = await call("GET", "/api/health");
  expect(health.status).toBe(200);
  expect(health.json.cache).toEqual({ status: "degraded", mode: "redis" });
}

describe("Redis outage", () => {
  const ctx = withTarget("pglite");
  let hanging: ReturnType<typeof createServer>;
  let failing: ReturnType<typeof createServer>;
  const endpoints: Record<string, () => string> = {};
  beforeAll(async () => {
    hanging = createServer(() => {});
    failing = createServer((_req, res) => res.writeHead(500, { "content-type": "application/json" }).end('{"error":"ERR internal"}'));
    for (const [name, server] of [["hanging", hanging], ["answering 500", failing]] as const) {
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      endpoints[name] = () => `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    }
    endpoints.refused = () => "http://127.0.0.1:1";
  });
  afterEach(async () => {
    await app().settle();
    installRedis(undefined);
    delete process.env.RATE_LIMIT_FAIL;
  });
  afterAll(() => {
    for (const server of [hanging, failing]) {
      server.closeAllConnections();
      server.close();
    }
  });

  for (const mode of ["refused", "hanging", "answering 500"]) {
    // Every route waits out the client's 200 ms timeout when Redis hangs: a walk of ~150 routes.
    it(`serves every route from Postgres when Redis is ${mode}, and fails the limiter open`, { timeout: 120_000 }, async () => {
      installRedis(await createRedis({ url: endpoints[mode]!(), token: "t", timeoutMs: 200, prefix: runPrefix }));
      const tenant = await ctx.tenant();
      await walkEveryRoute(ctx.db, tenant);
      const read = await call("GET", "/api/items", { token: tenant.users.staff.token });
      expect(read.headers.get("ratelimit-limit")).toBeNull();
    });
  }

  it("refuses with 503 when RATE_LIMIT_FAIL=closed, except /api/health", async () => {
    process.env.RATE_LIMIT_FAIL = "closed";
    installRedis(await createRedis({ url: endpoints.refused!(), token: "t", timeoutMs: 200, prefix: runPrefix }));
    const tenant = await ctx.tenant();
    const refused = await call("GET", "/api/items", { token: tenant.users.staff.token });
    expect(refused.status).toBe(503);
    expect(errorOf(refused).code).toBe("unavailable");
    expect(refused.headers.get("retry-after")).toBe("5");
    expect((await call("GET", "/api/health")).status).toBe(200);
  });

  describe.skipIf(!process.env.TEST_REDIS_URL)("through the Upstash bridge onto real Redis", () => {
    let bridge: UpstashBridge;
    beforeAll(async () => {
      bridge = await startUpstashBridge(process.env.TEST_REDIS_URL!);
    });
    afterAll(() => bridge?.close());

    // Two walks of every route, one of them against a hanging Redis (see above).
    it("keeps answering correctly when Redis fails mid-run, and caches again once it is back", { timeout: 180_000 }, async () => {
      installRedis(await createRedis({ url: bridge.url, token: bridge.token, timeoutMs: 200, prefix: `${runPrefix}-outage` }));
      const tenant = await ctx.tenant();
      const token = tenant.users.admin.token;
      const created = await call("POST", "/api/items", { token, body: SAMPLE_ITEM });
      await call("GET", `/api/items/${created.json.id}`, { token });
      await app().settle();
      expect((await call("GET", `/api/items/${created.json.id}`, { token })).headers.get("x-cache")).toBe("HIT");

      for (const fault of ["error", "hang"] as const) {
        bridge.fault(fault);
        const changed = await call("PUT", `/api/items/${created.json.id}`, { token, body: { stock: fault === "error" ? 1 : 2, version: fault === "error" ? 1 : 2 } });
        expect(changed.status).toBe(200);
        const read = await call("GET", `/api/items/${created.json.id}`, { token });
        expect([read.status, read.json.stock, read.cache]).toEqual([200, fault === "error" ? 1 : 2, "bypass"]);
        await walkEveryRoute(ctx.db, await ctx.tenant());
      }

      bridge.fault("none");
      await app().settle();
      const back = await call("GET", `/api/items/${created.json.id}`, { token });
      expect([back.status, back.json.stock, back.headers.get("ratelimit-limit")]).toEqual([200, 2, "1000000"]);
    });
  });
});
