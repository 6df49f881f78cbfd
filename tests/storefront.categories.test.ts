import { describe, expect, it } from "vitest";
import { call, errorOf } from "./support/client.js";
import { insertCategory } from "./support/fixtures.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

describe.each(dbTargets())("categories on %s", (name) => {
  const ctx = withTarget(name);

  it("creates, lists with counts, renames (items follow), moves and deletes categories", async () => {
    const t = await ctx.tenant();
    const admin = t.users.admin.token;
    const home = await call("POST", "/api/categories", { token: admin, body: { name: "Home & Garden" } });
    expect(home.status).toBe(201);
    expect(home.json).toMatchObject({ name: "Home & Garden", slug: "home-garden", parentId: null, position: 0, itemCount: 0, version: 1 });
    expect(home.headers.get("location")).toBe(`/api/categories/${home.json.id}`);
    const candles = await call("POST", "/api/categories", { token: admin, body: { name: "Candles", parentId: home.json.id, position: 2 } });
    expect(candles.status).toBe(201);

    const item = await call("POST", "/api/items", { token: admin, body: { name: "Soy candle", priceCents: 1800, categoryId: candles.json.id, published: true, compareAtPriceCents: 2200 } });
    expect(item.status).toBe(201);
    expect(item.json).toMatchObject({ category: "Candles", categoryId: candles.json.id, published: true, compareAtPriceCents: 2200 });

    const list = await call("GET", "/api/categories", { token: t.users.staff.token });
    expect(list.status).toBe(200);
    expect(list.json.items.map((c: { slug: string; itemCount: number }) => [c.slug, c.itemCount])).toEqual([["home-garden", 0], ["candles", 1]]);

    const renamed = await call("PUT", `/api/categories/${candles.json.id}`, { token: admin, body: { name: "Scented candles" }, headers: { "if-match": '"v1"' } });
    expect(renamed.status).toBe(200);
    expect(renamed.json).toMatchObject({ name: "Scented candles", slug: "candles", version: 2 });
    expect((await call("GET", `/api/items/${item.json.id}`, { token: admin })).json.category).toBe("Scented candles");
    // The legacy filter reads the name.
    expect((await call("GET", "/api/items?category=scented%20candles", { token: admin })).json.pagination.total).toBe(1);

    const stale = await call("PUT", `/api/categories/${candles.json.id}`, { token: admin, body: { position: 1 }, headers: { "if-match": '"v1"' } });
    expect(stale.status).toBe(412);

    // A category cannot go under itself or its own descendant.
    const loop = await call("PUT", `/api/categories/${home.json.id}`, { token: admin, body: { parentId: candles.json.id } });
    expect(loop.status).toBe(422);
    expect(errorOf(loop).details![0]!.path).toBe("parentId");
    expect((await call("PUT", `/api/categories/${home.json.id}`, { token: admin, body: { parentId: home.json.id } })).status).toBe(422);

    const taken = await call("POST", "/api/categories", { token: admin, body: { name: "Other", slug: "candles" } });
    expect(taken.status).toBe(409);
    expect(errorOf(taken)).toMatchObject({ code: "slug_taken", details: [{ path: "slug" }] });

    // Deleting Home moves Candles up; deleting Candles leaves the item uncategorised.
    expect((await call("DELETE", `/api/categories/${home.json.id}`, { token: admin })).status).toBe(200);
    const after = await call("GET", "/api/categories", { token: admin });
    expect(after.json.items).toMatchObject([{ id: candles.json.id, parentId: null }]);
    expect((await call("DELETE", `/api/categories/${candles.json.id}`, { token: admin })).status).toBe(200);
    expect((await call("GET", `/api/items/${item.json.id}`, { token: admin })).json).toMatchObject({ category: null, categoryId: null });
    expect((await call("DELETE", `/api/categories/${candles.json.id}`, { token: admin })).status).toBe(404);
  });

  it("files items sent with a category name under that category, creating it once", async () => {
    const t = await ctx.tenant();
    const admin = t.users.admin.token;
    const a = await call("POST", "/api/items", { token: admin, body: { name: "Mug", priceCents: 100, category: "Kitchen" } });
    const b = await call("POST", "/api/items", { token: admin, body: { name: "Bowl", priceCents: 100, category: "kitchen" } });
    expect(a.status).toBe(201);
    expect(b.json.categoryId).toBe(a.json.categoryId);
    expect(a.json.published).toBe(false);
    const cats = (await call("GET", "/api/categories", { token: admin })).json.items;
    expect(cats).toMatchObject([{ name: "Kitchen", slug: "kitchen", itemCount: 2 }]);
    const moved = await call("PUT", `/api/items/${b.json.id}`, { token: admin, body: { category: "Tableware" } });
    expect(moved.json).toMatchObject({ category: "Tableware" });
    expect((await call("PUT", `/api/items/${b.json.id}`, { token: admin, body: { categoryId: null } })).json).toMatchObject({ category: null, categoryId: null });
    const both = await call("PUT", `/api/items/${b.json.id}`, { token: admin, body: { category: "X", categoryId: a.json.categoryId } });
    expect(both.status).toBe(422);
  });

  it("refuses another tenant's category as a parent or an item's category, and hides it", async () => {
    const t = await ctx.tenant();
    const other = await ctx.tenant();
    const foreign = await insertCategory(ctx.db, other.id);
    const admin = t.users.admin.token;
    const child = await call("POST", "/api/categories", { token: admin, body: { name: "Child", parentId: foreign } });
    expect(child.status).toBe(422);
    const item = await call("POST", "/api/items", { token: admin, body: { name: "Mug", priceCents: 100, categoryId: foreign } });
    expect(item.status).toBe(422);
    expect(errorOf(item).details![0]!.path).toBe("categoryId");
    expect((await call("PUT", `/api/categories/${foreign}`, { token: admin, body: { position: 1 } })).status).toBe(404);
    expect((await call("DELETE", `/api/categories/${foreign}`, { token: admin })).status).toBe(404);
    expect((await call("GET", "/api/categories", { token: admin })).json.items).toEqual([]);
  });
});
