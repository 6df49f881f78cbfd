import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveLocalApp } from "../lib/dev/app.js";
import { cacheTargets, withCacheTarget } from "./support/cache-targets.js";
import { app, call, errorOf } from "./support/client.js";
import { tokenFor } from "./support/fixtures.js";
import { withTarget } from "./support/suite.js";

const randomIp = () => `203.0.${Math.floor(Math.random() * 250) + 1}.${Math.floor(Math.random() * 250) + 1}`;

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

  it("limits failed sign-ins per client address, not valid ones", async () => {
    const t = await ctx.tenant();
    const ip = randomIp();
    const from = { clientAddress: ip };
    for (let i = 0; i < 3; i++) expect((await call("GET", "/api/items", { token: "bad.token.here", ...from })).status).toBe(401);
    const blocked = await call("GET", "/api/items", { token: "bad.token.here", ...from });
    expect(blocked.status).toBe(429);
    expect(errorOf(blocked).code).toBe("rate_limited");
    expect(blocked.headers.get("retry-after")).toBeTruthy();
    expect((await call("GET", "/api/items", from)).status).toBe(429);
    expect((await call("GET", "/api/items", { token: "bad.token.here", clientAddress: randomIp() })).status).toBe(401);
    expect((await call("GET", "/api/items", { token: await tokenFor(`stranger-${ip}`), ...from })).status).toBe(403);
    expect((await call("GET", "/api/items", { token: t.users.staff.token, ...from })).status).toBe(200);
  });

  it("keeps the public and failed sign-in limits when X-Forwarded-For / X-Real-IP rotate", async () => {
    const t = await ctx.tenant();
    const clientAddress = randomIp();
    const spoofed = () => ({ "x-forwarded-for": `${randomIp()}, 10.0.0.1`, "x-real-ip": randomIp(), forwarded: `for=${randomIp()}` });
    const publicCall = () => call("GET", `/api/public/feedbacks?tenant=${t.slug}`, { clientAddress, headers: spoofed() });
    expect([(await publicCall()).status, (await publicCall()).status, (await publicCall()).status]).toEqual([200, 200, 429]);
    const signIn = () => call("GET", "/api/items", { token: "bad.token.here", clientAddress, headers: spoofed() });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await signIn()).status);
    expect(statuses).toEqual([401, 401, 401, 429, 429]);
  });

  it("over HTTP, the dev server keys limits on the socket address, whatever the headers say", async () => {
    const t = await ctx.tenant();
    const server = serveLocalApp(app(), { port: 0, hostname: "127.0.0.1" }) as Server;
    await new Promise<void>((resolve) => (server.listening ? resolve() : server.once("listening", () => resolve())));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // No other test of this file comes from loopback, so its budget (2) is untouched.
    const unique = `/api/public/feedbacks?tenant=${t.slug}`;
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const response = await fetch(`${origin}${unique}`, { headers: { "x-forwarded-for": randomIp(), "x-real-ip": randomIp() } });
        await response.arrayBuffer();
        statuses.push(response.status);
      }
      expect(statuses).toEqual([200, 200, 429, 429]);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("on Vercel (VERCEL=1), takes the address from x-real-ip, which the platform sets, and ignores X-Forwarded-For", async () => {
    const t = await ctx.tenant();
    process.env.VERCEL = "1";
    try {
      const ip = randomIp();
      const from = (realIp: string) => ({ clientAddress: "127.0.0.1", headers: { "x-real-ip": realIp, "x-forwarded-for": randomIp() } });
      const publicCall = (realIp: string) => call("GET", `/api/public/feedbacks?tenant=${t.slug}`, from(realIp));
      expect([(await publicCall(ip)).status, (await publicCall(ip)).status, (await publicCall(ip)).status]).toEqual([200, 200, 429]);
      expect((await publicCall(randomIp())).status).toBe(200);
    } finally {
      delete process.env.VERCEL;
    }
  });

  it("never limits /api/health", async () => {
    for (let i = 0; i < 6; i++) {
      const health = await call("GET", "/api/health");
      expect(health.status).toBe(200);
      expect(health.headers.get("ratelimit-limit")).toBeNull();
    }
  });
});
