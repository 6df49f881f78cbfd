import { sql } from "drizzle-orm/sql/sql";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { query } from "../db/atomic.js";
import { forgetApiKeys } from "../lib/auth/api-key-auth.js";
import { hashKey, isWellFormedKey, mintKey } from "../lib/auth/api-key-format.js";
import { setLogSink } from "../lib/platform/log.js";
import { cacheTargets, withCacheTarget } from "./support/cache-targets.js";
import { app, call, errorOf } from "./support/client.js";
import { insertApiKey, insertItem } from "./support/fixtures.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

describe("API key format", () => {
  it("has the test prefix outside production, ≥ 128 random bits in base62 and a checksum that catches typos", () => {
    const keys = Array.from({ length: 200 }, () => mintKey());
    for (const key of keys) {
      expect(key).toMatch(/^tly_test_[0-9A-Za-z]{28}$/);
      expect(isWellFormedKey(key)).toBe(true);
    }
    expect(new Set(keys).size).toBe(keys.length);
    const key = keys[0]!;
    // Every single-character substitution in the random part or the checksum is refused.
    let caught = 0;
    let tried = 0;
    for (let i = "tly_test_".length; i < key.length; i++) {
      for (const c of ["0", "z", "Q"]) {
        if (key[i] === c) continue;
        tried++;
        if (!isWellFormedKey(key.slice(0, i) + c + key.slice(i + 1))) caught++;
      }
    }
    expect(caught).toBe(tried);
    expect(isWellFormedKey(key.slice(0, -1))).toBe(false);
    expect(isWellFormedKey(`${key}0`)).toBe(false);
    expect(isWellFormedKey(key.replace("tly_test_", "tly_live_"))).toBe(false);
  });

  it("uses the live prefix in production and refuses test keys there", () => {
    const test = mintKey();
    vi.stubEnv("VERCEL_ENV", "production");
    try {
      const live = mintKey();
      expect(live).toMatch(/^tly_live_/);
      expect(isWellFormedKey(live)).toBe(true);
      expect(isWellFormedKey(test)).toBe(false);
    } finally {
      vi.unstubAllEnvs();
    }
  });
});

describe.each(dbTargets())("API keys on %s", (name) => {
  const ctx = withTarget(name);
  afterEach(() => {
    vi.useRealTimers();
    delete process.env.API_KEY_CACHE_TTL_MS;
  });

  it("shows a key once; the listing has its prefix and last 4, never the key or its hash", async () => {
    const t = await ctx.tenant();
    const made = await call("POST", "/api/api-keys", { token: t.users.admin.token, body: { name: "Storefront", role: "staff" } });
    expect(made.status).toBe(201);
    const key = made.json.key as string;
    expect(isWellFormedKey(key)).toBe(true);
    expect(made.json).toMatchObject({ name: "Storefront", role: "staff", status: "active", prefix: key.slice(0, 13), last4: key.slice(-4), expiresAt: null, lastUsedAt: null });
    expect(made.headers.get("location")).toBe(`/api/api-keys/${made.json.id}`);
    expect(made.headers.get("cache-control")).toBe("private, no-store");
    const listing = await call("GET", "/api/api-keys", { token: t.users.admin.token });
    const mine = listing.json.items.find((k: { id: string }) => k.id === made.json.id);
    expect(mine).toMatchObject({ prefix: key.slice(0, 13), last4: key.slice(-4) });
    expect(mine.key).toBeUndefined();
    expect(listing.text).not.toContain(key);
    expect(listing.text).not.toContain(hashKey(key));
    const stored = await query(ctx.db, sql`SELECT * FROM api_keys WHERE id = ${made.json.id}`);
    expect(JSON.stringify(stored)).not.toContain(key);
    expect(stored[0]!.key_hash).toBe(hashKey(key));
  });

  it("acts for its tenant with its role; nobody grants a key above their own role", async () => {
    const t = await ctx.tenant();
    const escalate = await call("POST", "/api/api-keys", { token: t.users.admin.token, body: { name: "Boss", role: "owner" } });
    expect(escalate.status).toBe(403);
    expect((await call("POST", "/api/api-keys", { token: t.users.owner.token, body: { name: "Boss", role: "owner" } })).status).toBe(201);
    const key = (await call("POST", "/api/api-keys", { token: t.users.admin.token, body: { name: "Sync", role: "staff" } })).json.key;
    expect((await call("GET", "/api/items", { token: key })).status).toBe(200);
    expect((await call("POST", "/api/items", { token: key, body: { name: "Nope", priceCents: 1 } })).status).toBe(403);
    // Bound to its tenant: X-Tenant naming another one is refused.
    expect((await call("GET", "/api/items", { token: key, headers: { "X-Tenant": t.slug } })).status).toBe(200);
    expect((await call("GET", "/api/items", { token: key, headers: { "X-Tenant": "someone-else" } })).status).toBe(403);
    // Orders made with a key record the key as their creator.
    const item = await insertItem(ctx.db, t.id);
    const order = await call("POST", "/api/orders", { token: key, body: { channel: "web", items: [{ itemId: item, quantity: 1 }] } });
    expect(order.status).toBe(201);
    const keyId = (await query(ctx.db, sql`SELECT id FROM api_keys WHERE key_hash = ${hashKey(key)}`))[0]!.id;
    expect((await query(ctx.db, sql`SELECT created_by FROM orders WHERE id = ${order.json.id}`))[0]!.created_by).toBe(keyId);
    // Past expiry dates are refused at creation.
    const past = await call("POST", "/api/api-keys", { token: t.users.admin.token, body: { name: "Old", role: "staff", expiresAt: "2020-01-01T00:00:00Z" } });
    expect(past.status).toBe(422);
    expect(errorOf(past).details?.[0]?.path).toBe("expiresAt");
  });

  it("verifies a warm key with no database trip; a cold one costs one lookup", async () => {
    const t = await ctx.tenant();
    const { key } = await insertApiKey(ctx.db, t.id, "admin");
    forgetApiKeys();
    const cold = await call("GET", "/api/tenant", { token: key });
    expect(cold.status).toBe(200);
    expect(cold.dbTrips).toBe(2);
    const warm = await call("GET", "/api/tenant", { token: key });
    expect(warm.dbTrips).toBe(1);
    // A cached GET costs nothing at all: the key check did no I/O.
    await call("GET", "/api/items", { token: key });
    const hit = await call("GET", "/api/items", { token: key });
    expect(hit.cache).toBe("hit");
    expect(hit.dbTrips).toBe(0);
  });

  it("refuses a revoked key at once on the revoking instance, and everywhere within 10 s", async () => {
    const t = await ctx.tenant();
    const made = await call("POST", "/api/api-keys", { token: t.users.admin.token, body: { name: "Revoke me", role: "staff" } });
    const key = made.json.key;
    expect((await call("GET", "/api/items", { token: key })).status).toBe(200);
    expect((await call("DELETE", `/api/api-keys/${made.json.id}`, { token: t.users.admin.token })).status).toBe(204);
    const refused = await call("GET", "/api/items", { token: key });
    expect(refused.status).toBe(401);
    expect(refused.text).not.toContain(key);
    expect((await call("GET", "/api/api-keys", { token: t.users.admin.token })).json.items.find((k: { id: string }) => k.id === made.json.id).status).toBe("revoked");

    // Another instance revoked it: this one still has it cached, but not past the 10 s bound, even
    // if the TTL is configured longer.
    process.env.API_KEY_CACHE_TTL_MS = "600000";
    const other = await insertApiKey(ctx.db, t.id, "staff");
    expect((await call("GET", "/api/items", { token: other.key })).status).toBe(200);
    await query(ctx.db, sql`UPDATE api_keys SET revoked_at = now() WHERE id = ${other.id}`);
    vi.useFakeTimers({ toFake: ["Date"] });
    expect((await call("GET", "/api/items", { token: other.key })).status).toBe(200);
    vi.setSystemTime(Date.now() + 10_001);
    expect((await call("GET", "/api/items", { token: other.key })).status).toBe(401);
  });

  it("refuses a key once it expires, even while it is cached", async () => {
    const t = await ctx.tenant();
    const { key } = await insertApiKey(ctx.db, t.id, "staff", { expiresAt: new Date(Date.now() + 3600_000).toISOString() });
    expect((await call("GET", "/api/items", { token: key })).status).toBe(200);
    vi.useFakeTimers({ toFake: ["Date"] });
    vi.setSystemTime(Date.now() + 3601_000);
    expect((await call("GET", "/api/items", { token: key })).status).toBe(401);
  });

  it("records lastUsedAt after the response, at most once a minute, without charging the request", async () => {
    const t = await ctx.tenant();
    const { id, key } = await insertApiKey(ctx.db, t.id, "admin");
    forgetApiKeys();
    await call("GET", "/api/tenant", { token: key });
    const first = await call("GET", "/api/tenant", { token: key });
    expect(first.dbTrips).toBe(1);
    await app().settle();
    const used = (await query(ctx.db, sql`SELECT last_used_at FROM api_keys WHERE id = ${id}`))[0]!.last_used_at;
    expect(used).not.toBeNull();
    await call("GET", "/api/tenant", { token: key });
    await app().settle();
    const again = (await query(ctx.db, sql`SELECT last_used_at FROM api_keys WHERE id = ${id}`))[0]!.last_used_at;
    expect(String(again)).toBe(String(used));
  });

  it("Idempotency-Key belongs to the key as principal: a user with the same key executes on their own", async () => {
    const t = await ctx.tenant();
    const { id, key } = await insertApiKey(ctx.db, t.id, "staff");
    const item = await insertItem(ctx.db, t.id, { stock: 10 });
    const body = { channel: "web", items: [{ itemId: item, quantity: 1 }] };
    const headers = { "Idempotency-Key": `k-${Math.random()}` };
    const byKey = await call("POST", "/api/orders", { token: key, body, headers });
    const replay = await call("POST", "/api/orders", { token: key, body, headers });
    const byUser = await call("POST", "/api/orders", { token: t.users.staff.token, body, headers });
    expect([byKey.status, replay.status, byUser.status]).toEqual([201, 201, 201]);
    expect(replay.json.id).toBe(byKey.json.id);
    expect(byUser.json.id).not.toBe(byKey.json.id);
    const principals = await query(ctx.db, sql`SELECT principal FROM idempotency_keys WHERE tenant_id = ${t.id} ORDER BY principal`);
    expect(principals.map((r) => r.principal)).toEqual([`apikey:${id}`, `user:${t.users.staff.id}`]);
  });

  it("never logs a key, valid or not", async () => {
    const t = await ctx.tenant();
    const { key } = await insertApiKey(ctx.db, t.id, "staff");
    const lines: string[] = [];
    setLogSink((line) => lines.push(line));
    try {
      await call("GET", "/api/items", { token: key });
      await call("GET", "/api/items", { token: mistype(key) });
      await call("POST", "/api/items", { token: key, body: { name: "x", priceCents: 1 } });
      await app().settle();
    } finally {
      setLogSink(undefined);
    }
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) expect(line).not.toContain(key.slice(9, -4));
  });
});

describe.each(cacheTargets())("rate limits for keys and tenants on %s", (cacheName) => {
  withCacheTarget(cacheName);
  const ctx = withTarget("pglite");
  const saved = { ...process.env };
  const set = (values: Record<string, string>) => Object.assign(process.env, values);
  beforeAll(() => set({ RATE_LIMIT_WINDOW_S: "3600" }));
  afterEach(() => {
    for (const k of ["RATE_LIMIT_API", "RATE_LIMIT_TENANT", "RATE_LIMIT_AUTH_FAILURES"]) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });
  afterAll(() => {
    if (saved.RATE_LIMIT_WINDOW_S === undefined) delete process.env.RATE_LIMIT_WINDOW_S;
    else process.env.RATE_LIMIT_WINDOW_S = saved.RATE_LIMIT_WINDOW_S;
  });

  it("limits each key on its own, and in one Redis round trip with the tenant limit", async () => {
    set({ RATE_LIMIT_API: "3", RATE_LIMIT_TENANT: "100" });
    const t = await ctx.tenant();
    // A fresh limiter's first call also loads its Lua script (NOSCRIPT, then EVAL): warm it elsewhere.
    await call("GET", "/api/tenant", { token: (await ctx.tenant()).keys.staff.key });
    for (let i = 0; i < 3; i++) {
      const ok = await call("GET", "/api/tenant", { token: t.keys.staff.key });
      expect(ok.status).toBe(200);
      expect(ok.headers.get("ratelimit-remaining")).toBe(String(2 - i));
      if (cacheName !== "memory") expect(ok.redisTrips).toBe(1);
    }
    const refused = await call("GET", "/api/tenant", { token: t.keys.staff.key });
    expect(refused.status).toBe(429);
    expect((await call("GET", "/api/tenant", { token: t.keys.admin.key })).status).toBe(200);
    expect((await call("GET", "/api/tenant", { token: t.users.staff.token })).status).toBe(200);
  });

  it("limits a tenant as a whole, across its users and keys, and no other tenant", async () => {
    set({ RATE_LIMIT_API: "100", RATE_LIMIT_TENANT: "4" });
    const t = await ctx.tenant();
    const other = await ctx.tenant();
    const callers = [t.users.staff.token, t.users.admin.token, t.keys.staff.key, t.keys.owner.key];
    for (const token of callers) expect((await call("GET", "/api/tenant", { token })).status).toBe(200);
    const refused = await call("GET", "/api/tenant", { token: t.users.owner.token });
    expect(refused.status).toBe(429);
    expect(refused.headers.get("ratelimit-limit")).toBe("4");
    expect((await call("GET", "/api/tenant", { token: other.users.owner.token })).status).toBe(200);
  });

  it("counts malformed, unknown and revoked keys toward the per-IP auth-failure limit", async () => {
    set({ RATE_LIMIT_AUTH_FAILURES: "3" });
    const t = await ctx.tenant();
    const revoked = await insertApiKey(ctx.db, t.id, "staff", { revoked: true });
    const clientAddress = `198.51.100.${Math.floor(Math.random() * 250) + 1}`;
    const attempts = [mistype(t.keys.staff.key), mintKey(), revoked.key];
    for (const token of attempts) expect((await call("GET", "/api/items", { token, clientAddress })).status).toBe(401);
    const blocked = await call("GET", "/api/items", { token: mintKey(), clientAddress });
    expect(blocked.status).toBe(429);
  });
});

// The last character changed to one it cannot already be (a fixed replacement matched the real key 1 time in 62).
function mistype(key: string): string {
  return key.slice(0, -1) + (key.endsWith("0") ? "1" : "0");
}
