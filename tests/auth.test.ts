import { sql } from "drizzle-orm/sql/sql";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { atomic } from "../db/atomic.js";
import { newId } from "../db/ids.js";
import { SignJWT } from "jose";
import { DEV_AUDIENCE, DEV_ISSUER } from "../lib/auth/dev-tokens.js";
import { forgetPrincipals } from "../lib/auth/session.js";
import { call, errorOf } from "./support/client.js";
import { insertItem, tokenFor } from "./support/fixtures.js";
import { startFakeGoogle } from "./support/google.js";
import { withTarget } from "./support/suite.js";

describe("authentication and tenancy", () => {
  const ctx = withTarget("neon-http→pglite");
  let google: Awaited<ReturnType<typeof startFakeGoogle>>;
  beforeAll(async () => {
    google = await startFakeGoogle();
    process.env.GOOGLE_JWKS_URL = google.url;
  });
  afterAll(() => google.close());

  async function googleMember(role: "owner" | "admin" | "staff") {
    const t = await ctx.tenant();
    const sub = `g-${newId()}`;
    const email = `${sub}@gmail.test`;
    await call("POST", "/api/members", { token: t.users.owner.token, body: { email, role } });
    return { t, sub, email };
  }

  it("accepts a Google ID token, binding the invitation at first sign-in, then serves warm requests with no auth I/O", async () => {
    const { t, sub, email } = await googleMember("staff");
    const item = await insertItem(ctx.db, t.id);
    const token = await google.mint({ sub, email, name: "Gina" });
    const hitsBefore = google.state.hits;
    const first = await call("GET", `/api/items/${item}`, { token });
    expect(first.status).toBe(200);
    expect(first.dbTrips).toBe(2); // membership lookup + the item
    for (let i = 0; i < 5; i++) {
      const warm = await call("GET", `/api/items/${item}`, { token });
      expect(warm.status).toBe(200);
      // No auth I/O, and the item itself now comes from the response cache.
      expect(warm.dbTrips).toBe(0);
    }
    // Keys were fetched at most once for all of that, and not again while warm.
    expect(google.state.hits - hitsBefore).toBeLessThanOrEqual(1);
    const members = await call("GET", "/api/members", { token: t.users.owner.token });
    expect(members.json.items.find((m: { email: string }) => m.email === email)).toMatchObject({ status: "active", role: "staff", name: "Gina" });
  });

  it("accepts both Google issuer spellings and small clock skew, refuses beyond it", async () => {
    const { sub, email } = await googleMember("staff");
    expect((await call("GET", "/api/items", { token: await google.mint({ sub, email }, { issuer: "accounts.google.com" }) })).status).toBe(200);
    expect((await call("GET", "/api/items", { token: await google.mint({ sub, email }, { expiresIn: -10 }) })).status).toBe(200);
    expect((await call("GET", "/api/items", { token: await google.mint({ sub, email }, { expiresIn: -120 }) })).status).toBe(401);
    expect((await call("GET", "/api/items", { token: await google.mint({ sub, email }, { notBefore: 10 }) })).status).toBe(200);
    expect((await call("GET", "/api/items", { token: await google.mint({ sub, email }, { notBefore: 300 }) })).status).toBe(401);
    expect((await call("GET", "/api/items", { token: await google.mint({ sub, email }, { kid: "unknown-kid" }) })).status).toBe(401);
  });

  it("refuses tokens issued in the future beyond the clock tolerance (iat), Google and dev alike", async () => {
    const { t, sub, email } = await googleMember("staff");
    expect((await call("GET", "/api/items", { token: await google.mint({ sub, email }, { issuedAt: 10 }) })).status).toBe(200);
    expect((await call("GET", "/api/items", { token: await google.mint({ sub, email }, { issuedAt: 3600, expiresIn: 7200 }) })).status).toBe(401);
    const now = Math.floor(Date.now() / 1000);
    const dev = (iat: number) =>
      new SignJWT({ email: t.users.staff.email, name: "x" })
        .setProtectedHeader({ alg: "HS256", typ: "JWT" })
        .setIssuer(DEV_ISSUER)
        .setAudience(DEV_AUDIENCE)
        .setSubject(t.users.staff.subject)
        .setIssuedAt(now + iat)
        .setExpirationTime(now + iat + 3600)
        .sign(new TextEncoder().encode(process.env.DEV_AUTH_SECRET!));
    expect((await call("GET", "/api/items", { token: await dev(10) })).status).toBe(200);
    const future = await call("GET", "/api/items", { token: await dev(24 * 3600) });
    expect(future.status).toBe(401);
    expect(errorOf(future).code).toBe("unauthorized");
  });

  it("does not bind an invitation to an unverified email", async () => {
    const { sub, email } = await googleMember("staff");
    const token = await google.mint({ sub, email, email_verified: false });
    const result = await call("GET", "/api/items", { token });
    expect(result.status).toBe(403);
  });

  it("asks for X-Tenant when the user belongs to several tenants", async () => {
    const a = await ctx.tenant("multi-a");
    const b = await ctx.tenant("multi-b");
    await atomic(ctx.db, [sql`INSERT INTO memberships (id, tenant_id, user_id, role) VALUES (${newId()}, ${b.id}, ${a.users.staff.id}, 'admin')`]);
    forgetPrincipals();
    const token = a.users.staff.token;
    const ambiguous = await call("GET", "/api/items", { token });
    expect(ambiguous.status).toBe(400);
    expect(errorOf(ambiguous).details?.map((d) => (d as { tenant?: string }).tenant).sort()).toEqual([a.slug, b.slug].sort());
    expect((await call("POST", "/api/items", { token, headers: { "x-tenant": a.slug }, body: { name: "x", priceCents: 1 } })).status).toBe(403);
    expect((await call("POST", "/api/items", { token, headers: { "x-tenant": b.slug }, body: { name: "x", priceCents: 1 } })).status).toBe(201);
    expect((await call("GET", "/api/items", { token, headers: { "x-tenant": b.slug.toUpperCase() } })).json.pagination.total).toBe(1);
  });

  it("refuses dev tokens in production and answers 500 config_error when dev auth is configured there", async () => {
    const t = await ctx.tenant();
    const saved = { NODE_ENV: process.env.NODE_ENV, VERCEL_ENV: process.env.VERCEL_ENV, DEV_AUTH_SECRET: process.env.DEV_AUTH_SECRET };
    try {
      process.env.VERCEL_ENV = "production";
      const misconfigured = await call("GET", "/api/items", { token: t.users.owner.token });
      expect(misconfigured.status).toBe(500);
      expect(errorOf(misconfigured).code).toBe("config_error");
      delete process.env.DEV_AUTH_SECRET;
      const refused = await call("GET", "/api/items", { token: t.users.owner.token });
      expect(refused.status).toBe(401);
      process.env.NODE_ENV = "production";
      delete process.env.VERCEL_ENV;
      expect((await call("GET", "/api/items", { token: t.users.owner.token })).status).toBe(401);
    } finally {
      Object.assign(process.env, saved);
      if (saved.VERCEL_ENV === undefined) delete process.env.VERCEL_ENV;
    }
    expect((await call("GET", "/api/items", { token: t.users.owner.token })).status).toBe(200);
  });

  it("rejects malformed Authorization headers", async () => {
    const t = await ctx.tenant();
    for (const header of ["Basic abc", "Bearer", "Bearer a b", t.users.owner.token, `Bearer ${t.users.owner.token}x`]) {
      const result = await call("GET", "/api/items", { headers: { authorization: header } });
      expect(result.status, header).toBe(401);
    }
  });

  it("stops serving a removed member at once on this instance", async () => {
    const t = await ctx.tenant();
    expect((await call("GET", "/api/items", { token: t.users.staff.token })).status).toBe(200);
    expect((await call("DELETE", `/api/members/${t.users.staff.id}`, { token: t.users.admin.token })).status).toBe(204);
    expect((await call("GET", "/api/items", { token: t.users.staff.token })).status).toBe(403);
  });

  it("remembers a verified token only until it expires (plus no clock tolerance)", async () => {
    const t = await ctx.tenant();
    const token = await tokenFor(t.users.staff.subject, undefined, { ttlSeconds: 120 });
    expect((await call("GET", "/api/items", { token })).status).toBe(200);
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + 60_000);
      expect((await call("GET", "/api/items", { token })).status).toBe(200);
      vi.setSystemTime(Date.now() + 61_000 + 31_000);
      expect((await call("GET", "/api/items", { token })).status).toBe(401);
    } finally {
      vi.useRealTimers();
    }
  });

  it("refuses an expired dev token and accepts a fresh one", async () => {
    const t = await ctx.tenant();
    expect((await call("GET", "/api/items", { token: await tokenFor(t.users.staff.subject, undefined, { ttlSeconds: -300 }) })).status).toBe(401);
    expect((await call("GET", "/api/items", { token: await tokenFor(t.users.staff.subject) })).status).toBe(200);
  });
});
