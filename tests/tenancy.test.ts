import { sql } from "drizzle-orm/sql/sql";
import { afterEach, describe, expect, it } from "vitest";
import { query } from "../db/atomic.js";
import { forgetPrincipals } from "../lib/auth/session.js";
import { call, errorOf } from "./support/client.js";
import { insertItem, insertMember, tokenFor } from "./support/fixtures.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

let seq = 0;
/** A person with a verified email and no tenant, as after a first Google sign-in. */
const newcomer = async () => {
  const id = `${process.pid}-${Date.now()}-${++seq}-${Math.random().toString(36).slice(2, 8)}`;
  return { token: await tokenFor(`newcomer-${id}`, `newcomer-${id}@example.com`), slug: `shop-${id}`.toLowerCase().replace(/[^a-z0-9-]/g, "").slice(0, 40) };
};

describe.each(dbTargets())("tenants on %s", (name) => {
  const ctx = withTarget(name);
  afterEach(() => {
    delete process.env.MAX_OWNED_TENANTS;
  });

  it("onboards a newcomer: /api/me with no memberships, POST /api/tenants makes them its owner, then items", async () => {
    const { token } = await newcomer();
    const me = await call("GET", "/api/me", { token });
    expect(me.status).toBe(200);
    expect(me.json).toMatchObject({ user: { email: expect.stringMatching(/^newcomer-/), emailVerified: true }, memberships: [] });
    expect(me.dbTrips).toBeLessThanOrEqual(1);
    expect((await call("GET", "/api/items", { token })).status).toBe(403);

    const made = await call("POST", "/api/tenants", { token, body: { name: "Kedai Kopi Ñusa!", timezone: "asia/jakarta", currency: "idr" } });
    expect(made.status).toBe(201);
    expect(made.json).toMatchObject({ name: "Kedai Kopi Ñusa!", timezone: "Asia/Jakarta", currency: "IDR", currencyExponent: 0, version: 1, orderNumberStart: 1001, lowStockThresholdDefault: 10 });
    expect(made.json.slug).toMatch(/^kedai-kopi-nusa(-\w+)?$/);
    expect(made.headers.get("etag")).toBe('"v1"');

    const after = await call("GET", "/api/me", { token });
    expect(after.json.memberships).toEqual([{ tenant: { id: made.json.id, slug: made.json.slug, name: "Kedai Kopi Ñusa!" }, role: "owner" }]);
    const item = await call("POST", "/api/items", { token, body: { name: "Kopi susu", priceCents: 18000, stock: 5 } });
    expect(item.status).toBe(201);
    expect((await call("GET", "/api/tenant", { token })).json.id).toBe(made.json.id);
  });

  it("refuses an unverified email, reserved and malformed slugs, bad timezones and currencies (nothing created)", async () => {
    const unverified = await tokenFor(`unverified-${Date.now()}-${Math.random()}`);
    const refused = await call("POST", "/api/tenants", { token: unverified, body: { name: "Sneaky" } });
    expect(refused.status).toBe(403);
    const { token } = await newcomer();
    for (const [body, path] of [
      [{ name: "A", slug: "admin" }, "slug"],
      [{ name: "A", slug: "api" }, "slug"],
      [{ name: "A", slug: "ab" }, "slug"],
      [{ name: "A", slug: "-abc" }, "slug"],
      [{ name: "A", slug: "abc_def" }, "slug"],
      [{ name: "A", slug: "x".repeat(41) }, "slug"],
      [{ name: "A", timezone: "UTC+7" }, "timezone"],
      [{ name: "A", timezone: "Mars/Olympus" }, "timezone"],
      [{ name: "A", timezone: "+07:00" }, "timezone"],
      [{ name: "A", currency: "XYZ" }, "currency"],
      [{ name: "A", currency: "US" }, "currency"],
    ] as const) {
      const result = await call("POST", "/api/tenants", { token, body });
      expect(result.status, JSON.stringify(body)).toBe(422);
      expect(errorOf(result).details?.map((d) => d.path)).toEqual([path]);
    }
    expect((await call("GET", "/api/me", { token })).json.memberships).toEqual([]);
  });

  it("answers 409 slug_taken with a free suggestion; a generated slug steps around taken ones", async () => {
    const a = await newcomer();
    const b = await newcomer();
    expect((await call("POST", "/api/tenants", { token: a.token, body: { name: "First", slug: a.slug } })).status).toBe(201);
    const taken = await call("POST", "/api/tenants", { token: b.token, body: { name: "Second", slug: a.slug } });
    expect(taken.status).toBe(409);
    expect(errorOf(taken).code).toBe("slug_taken");
    const suggestion = (errorOf(taken).details?.[0] as { suggestion?: string }).suggestion!;
    expect(suggestion).toMatch(new RegExp(`^${a.slug.slice(0, 30)}`));
    expect((await call("POST", "/api/tenants", { token: b.token, body: { name: "Second", slug: suggestion } })).status).toBe(201);

    const name = `Same Name ${Date.now()}`;
    const first = await call("POST", "/api/tenants", { token: a.token, body: { name } });
    const second = await call("POST", "/api/tenants", { token: b.token, body: { name } });
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(second.json.slug).not.toBe(first.json.slug);
  });

  it("two concurrent creations with one slug: one 201, one 409 slug_taken", async () => {
    for (let round = 0; round < 3; round++) {
      const users = await Promise.all([newcomer(), newcomer()]);
      const slug = users[0]!.slug;
      const results = await Promise.all(users.map((u, i) => call("POST", "/api/tenants", { token: u.token, body: { name: `Racer ${i}`, slug } })));
      expect(results.map((r) => r.status).sort()).toEqual([201, 409]);
      expect(errorOf(results.find((r) => r.status === 409)!).code).toBe("slug_taken");
      const rows = await query(ctx.db, sql`SELECT count(*) AS n FROM tenants WHERE slug = ${slug}`);
      expect(Number(rows[0]!.n)).toBe(1);
      const winner = users[results.findIndex((r) => r.status === 201)]!;
      expect((await call("GET", "/api/me", { token: winner.token })).json.memberships[0].role).toBe("owner");
    }
  });

  it("caps owned tenants per user, also under concurrency", async () => {
    process.env.MAX_OWNED_TENANTS = "2";
    const { token } = await newcomer();
    const results = await Promise.all([1, 2, 3, 4].map((i) => call("POST", "/api/tenants", { token, body: { name: `Shop ${i}` } })));
    expect(results.filter((r) => r.status === 201)).toHaveLength(2);
    for (const r of results.filter((r) => r.status !== 201)) {
      expect(r.status).toBe(409);
      expect(errorOf(r).details?.[0]).toMatchObject({ limit: 2 });
    }
  });

  it("Idempotency-Key: a retry replays the same tenant, another body is 422, concurrent duplicates create one", async () => {
    const { token } = await newcomer();
    const headers = { "Idempotency-Key": `create-${Math.random()}` };
    const body = { name: "Replay shop" };
    const first = await call("POST", "/api/tenants", { token, body, headers });
    expect(first.status).toBe(201);
    const again = await call("POST", "/api/tenants", { token, body, headers });
    expect(again.status).toBe(201);
    expect(again.json.id).toBe(first.json.id);
    expect(again.headers.get("idempotent-replayed")).toBe("true");
    const other = await call("POST", "/api/tenants", { token, body: { name: "Another shop" }, headers });
    expect(other.status).toBe(422);
    expect(errorOf(other).code).toBe("idempotency_mismatch");

    const concurrentKey = { "Idempotency-Key": `burst-${Math.random()}` };
    const burst = await Promise.all(Array.from({ length: 6 }, () => call("POST", "/api/tenants", { token, body: { name: "Burst shop" }, headers: concurrentKey })));
    expect(burst.map((r) => r.status).every((s) => s === 201 || s === 409)).toBe(true);
    expect(new Set(burst.filter((r) => r.status === 201).map((r) => r.json.id)).size).toBe(1);
    const me = await call("GET", "/api/me", { token });
    expect(me.json.memberships.filter((m: { tenant: { name: string } }) => m.tenant.name === "Burst shop")).toHaveLength(1);
    // Another person's request with the same key is their own.
    const someoneElse = await newcomer();
    const theirs = await call("POST", "/api/tenants", { token: someoneElse.token, body, headers });
    expect(theirs.status).toBe(201);
    expect(theirs.json.id).not.toBe(first.json.id);
  });

  it("PATCH /api/tenant: validated settings, If-Match, orderNumberStart only before the first order", async () => {
    const t = await ctx.tenant();
    const admin = t.users.admin.token;
    expect((await call("GET", "/api/tenant", { token: admin })).headers.get("etag")).toBe('"v1"');
    const changed = await call("PATCH", "/api/tenant", { token: admin, body: { name: "Renamed", timezone: "America/New_York", currency: "JPY", lowStockThresholdDefault: 3, orderNumberStart: 5000 }, headers: { "If-Match": '"v1"' } });
    expect(changed.status).toBe(200);
    expect(changed.json).toMatchObject({ name: "Renamed", timezone: "America/New_York", currency: "JPY", currencyExponent: 0, lowStockThresholdDefault: 3, orderNumberStart: 5000, version: 2 });
    expect(changed.dbTrips).toBe(1);
    const stale = await call("PATCH", "/api/tenant", { token: admin, body: { name: "Stale" }, headers: { "If-Match": '"v1"' } });
    expect(stale.status).toBe(412);
    for (const timezone of ["UTC+7", "Mars/Olympus", "+07:00", "", "Asia/Jakarta/Extra/Deep"]) {
      const bad = await call("PATCH", "/api/tenant", { token: admin, body: { timezone } });
      expect(bad.status, timezone).toBe(422);
    }
    expect((await call("PATCH", "/api/tenant", { token: admin, body: { currency: "EURO" } })).status).toBe(422);
    expect((await call("GET", "/api/tenant", { token: t.users.staff.token })).json).toMatchObject({ name: "Renamed", version: 2 });
    const defaulted = await call("POST", "/api/items", { token: admin, body: { name: "Defaulted", priceCents: 100 } });
    expect(defaulted.json.lowStockThreshold).toBe(3);
    const explicit = await call("POST", "/api/items", { token: admin, body: { name: "Explicit", priceCents: 100, lowStockThreshold: 0 } });
    expect(explicit.json.lowStockThreshold).toBe(0);

    const item = await insertItem(ctx.db, t.id, { stock: 10 });
    const first = await call("POST", "/api/orders", { token: t.users.staff.token, body: { channel: "web", items: [{ itemId: item, quantity: 1 }] } });
    expect(first.status).toBe(201);
    expect(first.json.number).toBe(5000);
    const late = await call("PATCH", "/api/tenant", { token: admin, body: { orderNumberStart: 10 } });
    expect(late.status).toBe(409);
    expect(errorOf(late).details?.[0]?.path).toBe("orderNumberStart");
    const next = await call("POST", "/api/orders", { token: t.users.staff.token, body: { channel: "web", items: [{ itemId: item, quantity: 1 }] } });
    expect(next.json.number).toBe(5001);
    expect((await call("GET", "/api/tenant", { token: admin })).json).toMatchObject({ orderNumberStart: 5000, version: 2 });
  });

  it("orderNumberStart racing the first order: numbers stay unique and consecutive from what was committed", async () => {
    const t = await ctx.tenant();
    const item = await insertItem(ctx.db, t.id, { stock: 100 });
    const [patch, ...orders] = await Promise.all([
      call("PATCH", "/api/tenant", { token: t.users.admin.token, body: { orderNumberStart: 7000 } }),
      ...[1, 2, 3].map(() => call("POST", "/api/orders", { token: t.users.staff.token, body: { channel: "web", items: [{ itemId: item, quantity: 1 }] } })),
    ]);
    expect(orders.every((o) => o.status === 201)).toBe(true);
    const numbers = orders.map((o) => o.json.number as number).sort((a, b) => a - b);
    expect(new Set(numbers).size).toBe(3);
    expect(numbers[2]! - numbers[0]!).toBe(2);
    if (patch!.status === 200) expect([7000, 1001]).toContain(numbers[0]);
    else expect(patch!.status).toBe(409);
  });

  it("DELETE /api/tenant (owner): the tenant disappears for members and keys, its owner restores it", async () => {
    const t = await ctx.tenant();
    expect((await call("DELETE", "/api/tenant", { token: t.users.admin.token })).status).toBe(403);
    expect((await call("GET", "/api/items", { token: t.keys.staff.key })).status).toBe(200);
    const deleted = await call("DELETE", "/api/tenant", { token: t.users.owner.token, headers: { "If-Match": '"v1"' } });
    expect(deleted.status).toBe(200);
    expect(Date.parse(deleted.json.restorableUntil) - Date.parse(deleted.json.deletedAt)).toBe(30 * 86_400_000);
    for (const role of ["owner", "admin", "staff"] as const) {
      const gone = await call("GET", "/api/items", { token: t.users[role].token });
      expect(gone.status, role).toBe(403);
    }
    expect((await call("GET", "/api/items", { token: t.keys.staff.key })).status).toBe(401);
    const me = await call("GET", "/api/me", { token: t.users.owner.token });
    expect(me.json.memberships).toEqual([]);
    expect(me.json.deletedTenants).toMatchObject([{ tenant: { id: t.id, slug: t.slug } }]);
    expect((await call("GET", "/api/me", { token: t.users.admin.token })).json.deletedTenants).toEqual([]);
    // Its slug stays reserved while it can be restored.
    const { token } = await newcomer();
    expect((await call("POST", "/api/tenants", { token, body: { name: "Squatter", slug: t.slug } })).status).toBe(409);

    expect((await call("POST", `/api/tenants/${t.id}/restore`, { token: t.users.admin.token })).status).toBe(404);
    const restored = await call("POST", `/api/tenants/${t.id}/restore`, { token: t.users.owner.token });
    expect(restored.status).toBe(200);
    expect((await call("GET", "/api/items", { token: t.users.staff.token })).status).toBe(200);
    expect((await call("GET", "/api/items", { token: t.keys.staff.key })).status).toBe(200);
    expect((await call("POST", `/api/tenants/${t.id}/restore`, { token: t.users.owner.token })).status).toBe(404);
  });

  it("a tenant deleted more than 30 days ago cannot be restored", async () => {
    const t = await ctx.tenant();
    await query(ctx.db, sql`UPDATE tenants SET deleted_at = now() - interval '31 days' WHERE id = ${t.id}`);
    forgetPrincipals();
    expect((await call("POST", `/api/tenants/${t.id}/restore`, { token: t.users.owner.token })).status).toBe(404);
  });
});

describe.each(dbTargets())("member roles and ownership on %s", (name) => {
  const ctx = withTarget(name);
  const owners = async (tenantId: string) =>
    Number((await query(ctx.db, sql`SELECT count(*) AS n FROM memberships WHERE tenant_id = ${tenantId} AND role = 'owner' AND user_id IS NOT NULL`))[0]!.n);

  it("owners set any role, admins up to admin and never an owner's, nobody demotes the last owner", async () => {
    const t = await ctx.tenant();
    const promoted = await call("PATCH", `/api/members/${t.users.staff.id}`, { token: t.users.admin.token, body: { role: "admin" } });
    expect(promoted.status).toBe(200);
    expect(promoted.json).toMatchObject({ userId: t.users.staff.id, role: "admin", status: "active" });
    expect((await call("PATCH", `/api/members/${t.users.staff.id}`, { token: t.users.admin.token, body: { role: "owner" } })).status).toBe(403);
    expect((await call("PATCH", `/api/members/${t.users.owner.id}`, { token: t.users.admin.token, body: { role: "staff" } })).status).toBe(403);
    const last = await call("PATCH", `/api/members/${t.users.owner.id}`, { token: t.users.owner.token, body: { role: "admin" } });
    expect(last.status).toBe(409);
    expect((await call("PATCH", `/api/members/${crypto.randomUUID()}`, { token: t.users.owner.token, body: { role: "admin" } })).status).toBe(404);
    expect((await call("PATCH", `/api/members/${t.users.staff.id}`, { token: t.users.owner.token, body: { role: "owner" } })).status).toBe(200);
    expect((await call("PATCH", `/api/members/${t.users.owner.id}`, { token: t.users.owner.token, body: { role: "staff" } })).status).toBe(200);
    expect(await owners(t.id)).toBe(1);
    // The demoted owner's cached role is not trusted on this instance.
    expect((await call("GET", "/api/members", { token: t.users.owner.token })).status).toBe(403);
  });

  it("transfers ownership: the target becomes owner, the caller admin; members leave unless last owner", async () => {
    const t = await ctx.tenant();
    expect((await call("POST", "/api/tenant/transfer-ownership", { token: t.users.admin.token, body: { userId: t.users.staff.id } })).status).toBe(403);
    expect((await call("POST", "/api/tenant/transfer-ownership", { token: t.users.owner.token, body: { userId: crypto.randomUUID() } })).status).toBe(404);
    expect((await call("POST", "/api/tenant/transfer-ownership", { token: t.users.owner.token, body: { userId: t.users.owner.id } })).status).toBe(422);
    expect((await call("DELETE", "/api/members/me", { token: t.users.owner.token })).status).toBe(409);
    const moved = await call("POST", "/api/tenant/transfer-ownership", { token: t.users.owner.token, body: { userId: t.users.staff.id } });
    expect(moved.status).toBe(200);
    const list = (await call("GET", "/api/members", { token: t.users.staff.token })).json.items as { userId: string; role: string }[];
    expect(list.find((m) => m.userId === t.users.staff.id)?.role).toBe("owner");
    expect(list.find((m) => m.userId === t.users.owner.id)?.role).toBe("admin");
    expect((await call("DELETE", "/api/members/me", { token: t.users.owner.token })).status).toBe(204);
    expect((await call("GET", "/api/items", { token: t.users.owner.token })).status).toBe(403);
    expect((await call("DELETE", "/api/members/me", { token: t.users.staff.token })).status).toBe(409);
    expect((await call("DELETE", "/api/members/me", { token: t.keys.admin.key })).status).toBe(403);
    expect(await owners(t.id)).toBe(1);
  });

  it("concurrent demotions, removals, transfers and leaving never leave a tenant ownerless", async () => {
    for (let round = 0; round < 4; round++) {
      const t = await ctx.tenant();
      const second = await insertMember(ctx.db, t, "owner");
      const secondToken = await tokenFor(`member-${second}`, `member-${second}@${t.slug}.test`);
      const a = t.users.owner;
      const results = await Promise.all([
        call("PATCH", `/api/members/${second}`, { token: a.token, body: { role: "staff" } }),
        call("PATCH", `/api/members/${a.id}`, { token: secondToken, body: { role: "staff" } }),
        call("POST", "/api/tenant/transfer-ownership", { token: a.token, body: { userId: t.users.staff.id } }),
        call("DELETE", "/api/members/me", { token: secondToken }),
        call("DELETE", "/api/members/me", { token: a.token }),
        call("DELETE", `/api/members/${a.id}`, { token: secondToken }),
      ]);
      for (const r of results) expect(r.status, r.text.slice(0, 200)).toBeLessThan(500);
      expect(await owners(t.id), `round ${round}: ${results.map((r) => r.status).join(",")}`).toBeGreaterThanOrEqual(1);
    }
  });
});
