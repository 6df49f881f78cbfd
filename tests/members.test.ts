import { sql } from "drizzle-orm/sql/sql";
import { describe, expect, it } from "vitest";
import { query } from "../db/atomic.js";
import { call, errorOf } from "./support/client.js";
import { tokenFor } from "./support/fixtures.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

describe.each(dbTargets())("members on %s", (name) => {
  const ctx = withTarget(name);

  it("invites by email; the invitation binds at the invitee's first sign-in", async () => {
    const t = await ctx.tenant();
    const invited = await call("POST", "/api/members", { token: t.users.admin.token, body: { email: "  New.Person@Example.COM ", role: "staff" } });
    expect(invited.status).toBe(201);
    expect(invited.json).toMatchObject({ email: "new.person@example.com", role: "staff", status: "invited", userId: null });

    const before = await call("GET", "/api/members", { token: t.users.admin.token });
    expect(before.json.items).toHaveLength(4);

    const token = await tokenFor(`person-${t.slug}`, "new.person@example.com");
    expect((await call("GET", "/api/items", { token })).status).toBe(200);
    expect((await call("POST", "/api/items", { token, body: { name: "x", priceCents: 1 } })).status).toBe(403);

    const after = await call("GET", "/api/members", { token: t.users.owner.token });
    const person = after.json.items.find((m: { email: string }) => m.email === "new.person@example.com");
    expect(person).toMatchObject({ status: "active", role: "staff" });
    expect(person.userId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("refuses duplicate invitations, inviting an existing member, and granting a role above one's own", async () => {
    const t = await ctx.tenant();
    const admin = t.users.admin.token;
    expect((await call("POST", "/api/members", { token: admin, body: { email: "dup@example.com", role: "staff" } })).status).toBe(201);
    const dup = await call("POST", "/api/members", { token: admin, body: { email: "DUP@example.com", role: "admin" } });
    expect(dup.status).toBe(409);
    expect((await call("POST", "/api/members", { token: admin, body: { email: t.users.staff.email, role: "staff" } })).status).toBe(409);
    const escalate = await call("POST", "/api/members", { token: admin, body: { email: "boss@example.com", role: "owner" } });
    expect(escalate.status).toBe(403);
    expect((await call("POST", "/api/members", { token: t.users.owner.token, body: { email: "boss@example.com", role: "owner" } })).status).toBe(201);
  });

  it("removes members and revokes invitations, but never an owner by an admin or the last owner", async () => {
    const t = await ctx.tenant();
    const invite = await call("POST", "/api/members", { token: t.users.owner.token, body: { email: "gone@example.com", role: "admin" } });
    expect((await call("DELETE", `/api/members/${invite.json.invitationId}`, { token: t.users.admin.token })).status).toBe(204);
    expect((await call("GET", "/api/members", { token: t.users.owner.token })).json.items).toHaveLength(3);

    const outranked = await call("DELETE", `/api/members/${t.users.owner.id}`, { token: t.users.admin.token });
    expect(outranked.status).toBe(403);
    const last = await call("DELETE", `/api/members/${t.users.owner.id}`, { token: t.users.owner.token });
    expect(last.status).toBe(409);
    expect(errorOf(last).code).toBe("conflict");
    expect((await call("DELETE", `/api/members/${crypto.randomUUID()}`, { token: t.users.owner.token })).status).toBe(404);
    expect((await call("DELETE", `/api/members/${t.users.admin.id}`, { token: t.users.owner.token })).status).toBe(204);
    expect((await call("GET", "/api/members", { token: t.users.admin.token })).status).toBe(403);
  });

  it("keeps at least one owner when two owners remove each other at once", async () => {
    const t = await ctx.tenant();
    await call("POST", "/api/members", { token: t.users.owner.token, body: { email: "second.owner@example.com", role: "owner" } });
    const second = await tokenFor(`second-owner-${t.slug}`, "second.owner@example.com");
    expect((await call("GET", "/api/members", { token: second })).status).toBe(200);
    const secondId = (await call("GET", "/api/members", { token: second })).json.items.find((m: { email: string }) => m.email === "second.owner@example.com").userId;
    const results = await Promise.all([
      call("DELETE", `/api/members/${secondId}`, { token: t.users.owner.token }),
      call("DELETE", `/api/members/${t.users.owner.id}`, { token: second }),
    ]);
    // Whoever loses is refused: 409 (last owner) under true concurrency, or 403 when the other
    // removal committed first and the loser is no longer a member at all.
    expect(results.filter((r) => r.status === 204)).toHaveLength(1);
    expect([403, 409]).toContain(results.find((r) => r.status !== 204)!.status);
    const owners = await query(ctx.db, sql`SELECT count(*) AS n FROM memberships WHERE tenant_id = ${t.id} AND role = 'owner' AND user_id IS NOT NULL`);
    expect(Number(owners[0]!.n)).toBe(1);
  });
});
