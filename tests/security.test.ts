import { describe, expect, it } from "vitest";
import { call } from "./support/client.js";
import { insertCustomer, insertItem, insertOrder } from "./support/fixtures.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

describe.each(dbTargets())("tenant isolation on %s", (name) => {
  const ctx = withTarget(name);

  it("never shows one tenant's items to another, on any listing or filter", async () => {
    const a = await ctx.tenant("a");
    const b = await ctx.tenant("b");
    const theirs = [
      await insertItem(ctx.db, b.id, { name: "Secret candle", sku: "SECRET-1", stock: 1 }),
      await insertItem(ctx.db, b.id, { name: "Secret deleted", sku: "SECRET-2", deleted: true }),
    ];
    const mine = await insertItem(ctx.db, a.id, { name: "My candle", sku: "MINE-1" });
    const token = a.users.owner.token;
    const listings = ["/api/items?limit=100", "/api/items?search=secret", "/api/items?lowStock=true&limit=100", "/api/items/deleted?limit=100", "/api/items?search=SECRET-1"];
    for (const path of listings) {
      const result = await call("GET", path, { token });
      expect(result.status, path).toBe(200);
      expect(result.text, path).not.toMatch(/Secret|SECRET/);
      for (const id of theirs) expect(result.text, path).not.toContain(id);
    }
    expect((await call("GET", "/api/items", { token })).json.items.map((i: { id: string }) => i.id)).toEqual([mine]);
    // Members of B are invisible to A too.
    const members = await call("GET", "/api/members", { token });
    expect(members.text).not.toContain(b.users.owner.id);
  });

  it("never shows one tenant's orders, customers or stock movements to another", async () => {
    const a = await ctx.tenant("a");
    const b = await ctx.tenant("b");
    const theirOrder = await insertOrder(ctx.db, b);
    const theirCustomer = await insertCustomer(ctx.db, b.id, "Secret customer");
    await insertOrder(ctx.db, a);
    const token = a.users.staff.token;
    for (const path of ["/api/orders?limit=100", "/api/orders?limit=100&cursor=" + Buffer.from(JSON.stringify({ s: "created", id: "ffffffff-ffff-7fff-bfff-ffffffffffff" })).toString("base64url"), "/api/orders/all", "/api/orders/priority", "/api/customers?limit=100", "/api/customers?search=secret", `/api/orders?customerId=${theirCustomer}`]) {
      const result = await call("GET", path, { token });
      expect(result.status, path).toBe(200);
      expect(result.text, path).not.toContain(theirOrder);
      expect(result.text, path).not.toContain(theirCustomer);
      expect(result.text, path).not.toContain("Secret");
    }
    expect((await call("GET", "/api/orders", { token })).json.pagination.total).toBe(1);
  });

  it("takes the item id from the path, never from a ?id= query parameter", async () => {
    const a = await ctx.tenant();
    const mine = await insertItem(ctx.db, a.id, { name: "Path item" });
    const other = await insertItem(ctx.db, a.id, { name: "Query item" });
    const result = await call("GET", `/api/items/${mine}?id=${other}`, { token: a.users.staff.token });
    expect(result.json.name).toBe("Path item");
    const write = await call("PUT", `/api/items/${mine}?id=${other}`, { token: a.users.admin.token, body: { name: "Renamed" } });
    expect(write.json.id).toBe(mine);
    expect((await call("GET", `/api/items/${other}`, { token: a.users.staff.token })).json.name).toBe("Query item");
  });

  it("refuses X-Tenant naming a tenant the user does not belong to", async () => {
    const a = await ctx.tenant();
    const b = await ctx.tenant();
    const result = await call("GET", "/api/items", { token: a.users.owner.token, headers: { "x-tenant": b.slug } });
    expect(result.status).toBe(403);
    const own = await call("GET", "/api/items", { token: a.users.owner.token, headers: { "x-tenant": a.slug } });
    expect(own.status).toBe(200);
  });

  it("cannot create an item in another tenant by smuggling tenantId", async () => {
    const a = await ctx.tenant();
    const b = await ctx.tenant();
    const result = await call("POST", "/api/items", { token: a.users.admin.token, body: { name: "x", priceCents: 1, tenantId: b.id } });
    expect(result.status).toBe(422);
    expect((await call("GET", "/api/items", { token: b.users.staff.token })).json.pagination.total).toBe(0);
  });
});
