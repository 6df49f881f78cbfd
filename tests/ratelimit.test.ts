import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cacheTargets, withCacheTarget } from "./support/cache-targets.js";
import { call, errorOf } from "./support/client.js";
import { tokenFor } from "./support/fixtures.js";
import { withTarget } from "./support/suite.js";

const LIMITS = { RATE_LIMIT_API: "5", RATE_LIMIT_PUBLIC: "2", RATE_LIMIT_AUTH_FAILURES: "3", RATE_LIMIT_WINDOW_S: "3600" };

/** Sets small limits for the enclosing describe (an hour-long window keeps counts clear of window edges). */
function withLimits(values: Record<string, string>) {
  const saved: Record<string, string | undefined> = {};
  beforeAll(() => {
    for (const [k, v] of Object.entries(values)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  });
  afterAll(() => {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  });
}

describe.each(cacheTargets())("rate limiting on %s", (cacheName) => {
  withCacheTarget(cacheName);
  const ctx = withTarget("pglite");
  withLimits(LIMITS);

  it("answers the request past the limit with 429 and RateLimit headers, per user", async () => {
    const t = await ctx.tenant();
    const token = t.users.staff.token;
    for (let i = 1; i <= 5; i++) {
      const ok = await call("GET", i % 2 ? "/api/items" : "/api/items/deleted", { token });
      expect(ok.status).toBe(200);
      expect(ok.headers.get("ratelimit-limit")).toBe("5");
      expect(ok.headers.get("ratelimit-remaining")).toBe(String(5 - i));
      expect(ok.headers.get("x-ratelimit-limit")).toBe("5");
      expect(ok.headers.get("x-ratelimit-remaining")).toBe(String(5 - i));
      const reset = Number(ok.headers.get("ratelimit-reset"));
      expect(reset).toBeGreaterThan(0);
      expect(reset).toBeLessThanOrEqual(3600);
      expect(Number(ok.headers.get("x-ratelimit-reset")) - Math.ceil(Date.now() / 1000)).toBeLessThanOrEqual(3601);
    }
    const refused = await call("GET", "/api/items", { token });
    expect(refused.status).toBe(429);
    expect(errorOf(refused).code).toBe("rate_limited");
    expect(refused.headers.get("ratelimit-remaining")).toBe("0");
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers.get("retry-after"))).toBeLessThanOrEqual(3600);
    expect(refused.dbTrips).toBe(0);
    expect((await call("POST", "/api/items", { token: t.users.admin.token, body: { name: "Other user", priceCents: 1 } })).status).toBe(201);
  });

  it("counts malformed requests too: bad input does not get around the limit", async () => {
    const t = await ctx.tenant();
    const token = t.users.admin.token;
    for (let i = 0; i < 5; i++) expect((await call("POST", "/api/items", { token, rawBody: "{not json" })).status).toBe(400);
    const refused = await call("POST", "/api/items", { token, body: { name: "Valid", priceCents: 1 } });
    expect(refused.status).toBe(429);
  });

  it("counts exactly under 50 concurrent requests", async () => {
    const t = await ctx.tenant();
    const results = await Promise.all(Array.from({ length: 50 }, () => call("GET", "/api/items", { token: t.users.staff.token })));
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(45);
    expect(new Set(results.filter((r) => r.status === 200).map((r) => r.headers.get("ratelimit-remaining")))).toEqual(new Set(["0", "1", "2", "3", "4"]));
  });

  it("limits failed sign-ins per IP (first x-forwarded-for hop), not valid ones", async () => {
    const t = await ctx.tenant();
    const ip = `203.0.113.${Math.floor(Math.random() * 250) + 1}`;
    const from = (address: string) => ({ "x-forwarded-for": `${address}, 10.0.0.1` });
    for (let i = 0; i < 3; i++) expect((await call("GET", "/api/items", { token: "bad.token.here", headers: from(ip) })).status).toBe(401);
    const blocked = await call("GET", "/api/items", { token: "bad.token.here", headers: from(ip) });
    expect(blocked.status).toBe(429);
    expect(errorOf(blocked).code).toBe("rate_limited");
    expect(blocked.headers.get("retry-after")).toBeTruthy();
    expect((await call("GET", "/api/items", { headers: from(ip) })).status).toBe(429);
    expect((await call("GET", "/api/items", { token: "bad.token.here", headers: { "x-real-ip": "198.51.100.77" } })).status).toBe(401);
    expect((await call("GET", "/api/items", { token: await tokenFor(`stranger-${ip}`), headers: from(ip) })).status).toBe(403);
    expect((await call("GET", "/api/items", { token: t.users.staff.token, headers: from(ip) })).status).toBe(200);
  });

  it("never limits /api/health", async () => {
    for (let i = 0; i < 6; i++) {
      const health = await call("GET", "/api/health");
      expect(health.status).toBe(200);
      expect(health.headers.get("ratelimit-limit")).toBeNull();
    }
  });
});
