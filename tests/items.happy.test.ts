import { describe, expect, it } from "vitest";
import { call } from "./support/client.js";
import { SAMPLE_ITEM } from "./support/fixtures.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

describe.each(dbTargets())("items on %s", (name) => {
  const ctx = withTarget(name);

  it("creates, reads, edits, soft-deletes, restores and purges an item", async () => {
    const t = await ctx.tenant();
    const admin = t.users.admin.token;

    const created = await call("POST", "/api/items", { token: admin, body: { ...SAMPLE_ITEM, description: "  Stoneware, 350 ml  " } });
    expect(created.status).toBe(201);
    const item = created.json;
    expect(item).toMatchObject({ name: "Sample mug", sku: "MUG-1", priceCents: 1250, stock: 20, lowStockThreshold: 5, lowStock: false, category: "Kitchen", description: "Stoneware, 350 ml", version: 1, deletedAt: null, imageUrl: null });
    expect(created.headers.get("location")).toBe(`/api/items/${item.id}`);
    expect(created.headers.get("etag")).toBe('"v1"');
    expect(new Date(item.createdAt).toISOString()).toBe(item.createdAt);

    const read = await call("GET", `/api/items/${item.id}`, { token: t.users.staff.token });
    expect(read.status).toBe(200);
    expect(read.json).toEqual({ ...item, suppliers: [] }); // the read also lists supplier links (issue 15)
    expect(read.headers.get("etag")).toBe('"v1"');
    expect(read.headers.get("cache-control")).toBe("private, no-store");

    const notModified = await call("GET", `/api/items/${item.id}`, { token: t.users.staff.token, headers: { "if-none-match": '"v1"' } });
    expect(notModified.status).toBe(304);

    const edited = await call("PUT", `/api/items/${item.id}`, { token: admin, body: { lowStockThreshold: 25, name: "Big mug" }, headers: { "if-match": '"v1"' } });
    expect(edited.status).toBe(200);
    expect(edited.json).toMatchObject({ name: "Big mug", stock: 20, lowStock: true, version: 2, sku: "MUG-1", priceCents: 1250 });
    expect(edited.headers.get("etag")).toBe('"v2"');

    const cleared = await call("PUT", `/api/items/${item.id}`, { token: admin, body: { description: null, category: "", version: 2 } });
    expect(cleared.status).toBe(200);
    expect(cleared.json).toMatchObject({ description: null, category: null, version: 3 });

    const deleted = await call("DELETE", `/api/items/${item.id}`, { token: admin });
    expect(deleted.status).toBe(200);
    expect(deleted.json.deletedAt).not.toBeNull();
    expect((await call("GET", `/api/items/${item.id}`, { token: admin })).status).toBe(404);
    const trash = await call("GET", "/api/items/deleted", { token: t.users.staff.token });
    expect(trash.json.items.map((i: { id: string }) => i.id)).toEqual([item.id]);
    expect((await call("GET", "/api/items", { token: admin })).json.pagination.total).toBe(0);

    const restored = await call("POST", `/api/items/${item.id}/restore`, { token: admin });
    expect(restored.status).toBe(200);
    expect(restored.json).toMatchObject({ deletedAt: null, name: "Big mug", version: 5 });

    expect((await call("DELETE", `/api/items/${item.id}`, { token: admin })).status).toBe(200);
    const purged = await call("DELETE", `/api/items/${item.id}/permanent`, { token: admin });
    expect(purged.status).toBe(204);
    expect(purged.text).toBe("");
    expect((await call("GET", "/api/items/deleted", { token: admin })).json.pagination.total).toBe(0);
    expect((await call("POST", `/api/items/${item.id}/restore`, { token: admin })).status).toBe(404);
  });

  it("pages, searches by name or SKU, and filters low stock", async () => {
    const t = await ctx.tenant();
    const admin = t.users.admin.token;
    for (let i = 1; i <= 25; i++) {
      const body = { name: `Candle ${String(i).padStart(2, "0")}`, sku: `C-${i}`, priceCents: 100 * i, stock: i, lowStockThreshold: 10 };
      expect((await call("POST", "/api/items", { token: admin, body })).status).toBe(201);
    }
    await call("POST", "/api/items", { token: admin, body: { name: "Percent 100% wool_scarf", sku: "WOOL", priceCents: 1 } });

    const first = await call("GET", "/api/items?limit=10", { token: t.users.staff.token });
    expect(first.json.pagination).toEqual({ page: 1, limit: 10, total: 26, totalPages: 3 });
    expect(first.json.items).toHaveLength(10);
    // Newest first.
    expect(first.json.items[0].name).toBe("Percent 100% wool_scarf");

    const third = await call("GET", "/api/items?limit=10&page=3", { token: t.users.staff.token });
    expect(third.json.items).toHaveLength(6);
    const beyond = await call("GET", "/api/items?limit=10&page=9", { token: t.users.staff.token });
    expect(beyond.json).toEqual({ items: [], pagination: { page: 9, limit: 10, total: 26, totalPages: 3 } });

    const all = await call("GET", "/api/items?limit=50", { token: t.users.staff.token });
    const ids = all.json.items.map((i: { id: string }) => i.id);
    expect(new Set(ids).size).toBe(26);

    const byName = await call("GET", "/api/items?search=candle%2002", { token: t.users.staff.token });
    expect(byName.json.items.map((i: { name: string }) => i.name)).toEqual(["Candle 02"]);
    const bySku = await call("GET", "/api/items?search=c-1", { token: t.users.staff.token });
    expect(bySku.json.pagination.total).toBe(11); // C-1 and C-10..C-19
    // LIKE wildcards in the search term are literal.
    const literal = await call("GET", "/api/items?search=100%25", { token: t.users.staff.token });
    expect(literal.json.items.map((i: { sku: string }) => i.sku)).toEqual(["WOOL"]);
    const underscore = await call("GET", "/api/items?search=t_1", { token: t.users.staff.token });
    expect(underscore.json.pagination.total).toBe(0);

    const low = await call("GET", "/api/items?lowStock=true&limit=100", { token: t.users.staff.token });
    expect(low.json.items.every((i: { stock: number; lowStockThreshold: number }) => i.stock <= i.lowStockThreshold)).toBe(true);
    expect(low.json.pagination.total).toBe(11); // stock 1..10 and the scarf (0)
  });

  it("does every items request in exactly one database round trip", async () => {
    const t = await ctx.tenant();
    const admin = t.users.admin.token;
    // The first request loads the membership (one trip); afterwards auth is served from memory.
    await call("GET", "/api/items", { token: admin });
    const created = await call("POST", "/api/items", { token: admin, body: SAMPLE_ITEM });
    const id = created.json.id;
    const trips = {
      create: created.dbTrips,
      list: (await call("GET", "/api/items?search=mug&lowStock=false", { token: admin })).dbTrips,
      read: (await call("GET", `/api/items/${id}`, { token: admin })).dbTrips,
      update: (await call("PUT", `/api/items/${id}`, { token: admin, body: { stock: 1 }, headers: { "if-match": '"v1"' } })).dbTrips,
      staleUpdate: (await call("PUT", `/api/items/${id}`, { token: admin, body: { stock: 2 }, headers: { "if-match": '"v1"' } })).dbTrips,
      delete: (await call("DELETE", `/api/items/${id}`, { token: admin })).dbTrips,
      deletedList: (await call("GET", "/api/items/deleted", { token: admin })).dbTrips,
      restore: (await call("POST", `/api/items/${id}/restore`, { token: admin })).dbTrips,
      missing: (await call("GET", `/api/items/${crypto.randomUUID()}`, { token: admin })).dbTrips,
    };
    expect(trips).toEqual({ create: 1, list: 1, read: 1, update: 1, staleUpdate: 1, delete: 1, deletedList: 1, restore: 1, missing: 1 });
    const invalid = await call("POST", "/api/items", { token: admin, body: { name: "" } });
    expect(invalid.dbTrips).toBe(0);
  });
});
