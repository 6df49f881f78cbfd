import { sql } from "drizzle-orm/sql/sql";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { query } from "../db/atomic.js";
import { forgetApiKeys } from "../lib/auth/api-key-auth.js";
import { mintKey } from "../lib/auth/api-key-format.js";
import { DEV_AUDIENCE, DEV_ISSUER } from "../lib/auth/dev-tokens.js";
import { call, errorOf, type CallResult } from "./support/client.js";
import { insertApiKey, type TestTenant } from "./support/fixtures.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

// Issue 12, "Bad input": each case is a 4xx in the error shape and changes nothing. Slugs, timezones
// and currencies at creation are in tenancy.test.ts; this file covers keys and tokens.
describe.each(dbTargets())("issue 12 bad input on %s", (name) => {
  const ctx = withTarget(name);

  /** What a refused request must leave alone: the tenant's keys, items, orders and settings. */
  const snapshot = async (t: TestTenant) =>
    JSON.stringify(
      await query(
        ctx.db,
        sql`SELECT (SELECT json_agg(k ORDER BY k.id) FROM api_keys k WHERE k.tenant_id = ${t.id}) AS keys,
                   (SELECT count(*) FROM items WHERE tenant_id = ${t.id}) AS items,
                   (SELECT count(*) FROM orders WHERE tenant_id = ${t.id}) AS orders,
                   (SELECT row_to_json(x) FROM tenants x WHERE x.id = ${t.id}) AS tenant`,
      ),
    );

  const refused = (result: CallResult, status: number, label: string) => {
    expect(result.status, label).toBe(status);
    return errorOf(result);
  };

  const newItem = (token: string) => call("POST", "/api/items", { token, body: { name: "Should not exist", priceCents: 100, stock: 1 } });

  it("API key creation: role escalation, impossible or out-of-range expiries, unknown roles", async () => {
    const t = await ctx.tenant();
    const before = await snapshot(t);
    const admin = t.users.admin.token;
    expect(refused(await call("POST", "/api/api-keys", { token: admin, body: { name: "Boss", role: "owner" } }), 403, "admin → owner key").code).toBe("forbidden");
    expect(refused(await call("POST", "/api/api-keys", { token: t.keys.admin.key, body: { name: "Child", role: "staff" } }), 403, "a key minting keys").code).toBe("forbidden");
    const inThreeYears = new Date(Date.now() + 3 * 366 * 86_400_000 + 86_400_000).toISOString();
    for (const [body, path] of [
      [{ name: "K", role: "staff", expiresAt: "2027-02-30T00:00:00Z" }, "expiresAt"],
      [{ name: "K", role: "staff", expiresAt: "2027-01-01T00:00:00" }, "expiresAt"],
      [{ name: "K", role: "staff", expiresAt: "2020-01-01T00:00:00Z" }, "expiresAt"],
      [{ name: "K", role: "staff", expiresAt: inThreeYears }, "expiresAt"],
      [{ name: "K", role: "staff", expiresAt: 1893456000 }, "expiresAt"],
      [{ name: "K", role: "root" }, "role"],
      [{ name: "K", role: "staff", tenantId: crypto.randomUUID() }, "tenantId"],
    ] as const) {
      const error = refused(await call("POST", "/api/api-keys", { token: admin, body }), 422, JSON.stringify(body));
      expect(error.details?.map((d) => d.path), JSON.stringify(body)).toEqual([path]);
    }
    expect(await snapshot(t)).toBe(before);
  });

  it("keys: a broken checksum (no I/O), expired, revoked, or of a deleted tenant are 401 and write nothing", async () => {
    const t = await ctx.tenant();
    const expired = await insertApiKey(ctx.db, t.id, "admin", { expiresAt: new Date(Date.now() - 1000).toISOString() });
    const revoked = await insertApiKey(ctx.db, t.id, "admin", { revoked: true });
    forgetApiKeys();
    const before = await snapshot(t);
    const good = t.keys.admin.key;
    const typo = `${good.slice(0, 12)}${good[12] === "A" ? "B" : "A"}${good.slice(13)}`;
    const broken = await newItem(typo);
    expect(refused(broken, 401, "broken checksum").code).toBe("unauthorized");
    expect(broken.dbTrips).toBe(0);
    expect(broken.text).not.toContain(typo);
    for (const [key, label] of [[expired.key, "expired"], [revoked.key, "revoked"], [mintKey(), "unknown"], [`${good}x`, "too long"], [good.replace("tly_test_", "tly_live_"), "other environment"]] as const) {
      const result = await newItem(key);
      expect(refused(result, 401, label).code).toBe("unauthorized");
      expect(result.text).not.toContain(key);
    }
    expect(await snapshot(t)).toBe(before);

    // A deleted tenant's keys stop working, for reads and writes.
    expect((await call("DELETE", "/api/tenant", { token: t.users.owner.token })).status).toBe(200);
    const afterDelete = await snapshot(t);
    for (const role of ["owner", "admin", "staff"] as const) {
      expect(refused(await newItem(t.keys[role].key), 401, `${role} key of a deleted tenant`).code).toBe("unauthorized");
      expect(refused(await call("GET", "/api/tenant", { token: t.keys[role].key }), 401, `${role} key reading`).code).toBe("unauthorized");
    }
    expect(refused(await call("PATCH", "/api/tenant", { token: t.keys.owner.key, body: { name: "Back" } }), 401, "patching a deleted tenant").code).toBe("unauthorized");
    expect(await snapshot(t)).toBe(afterDelete);
  });

  it("tokens: no exp, exp or iat as text, iat far in the future, alg none, long-expired — 401 and nothing written", async () => {
    const t = await ctx.tenant();
    const before = await snapshot(t);
    const now = Math.floor(Date.now() / 1000);
    const secret = new TextEncoder().encode(process.env.DEV_AUTH_SECRET!);
    const base = () => new SignJWT({ email: t.users.admin.email }).setIssuer(DEV_ISSUER).setAudience(DEV_AUDIENCE).setSubject(t.users.admin.subject);
    const raw = async (claims: Record<string, unknown>) =>
      new SignJWT({ email: t.users.admin.email, iss: DEV_ISSUER, aud: DEV_AUDIENCE, sub: t.users.admin.subject, ...claims }).setProtectedHeader({ alg: "HS256" }).sign(secret);
    const unsigned = (claims: Record<string, unknown>) =>
      `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${Buffer.from(JSON.stringify({ iss: DEV_ISSUER, aud: DEV_AUDIENCE, sub: t.users.admin.subject, ...claims })).toString("base64url")}.`;
    const tokens: [string, string][] = [
      [await base().setProtectedHeader({ alg: "HS256" }).setIssuedAt(now).sign(secret), "no exp"],
      [await raw({ iat: now, exp: String(now + 3600) }), "exp as text"],
      [await raw({ iat: String(now + 86_400), exp: now + 3600 }), "iat as text"],
      [await raw({ iat: now + 86_400, exp: now + 90_000 }), "iat a day ahead"],
      [await raw({ iat: now - 7200, exp: now - 3600 }), "expired an hour ago"],
      [await raw({ iat: now, exp: now + 3600, nbf: now + 3600 }), "not yet valid"],
      [unsigned({ iat: now, exp: now + 3600 }), "alg none"],
    ];
    for (const [token, label] of tokens) {
      expect(refused(await newItem(token), 401, label).code).toBe("unauthorized");
      expect(refused(await call("PATCH", "/api/tenant", { token, body: { name: "Hijacked" } }), 401, label).code).toBe("unauthorized");
    }
    expect(await snapshot(t)).toBe(before);
    // The same claims, well-formed, are accepted (the refusals above are about the tricks).
    expect((await newItem(await raw({ iat: now, exp: now + 3600 }))).status).toBe(201);
  });
});
