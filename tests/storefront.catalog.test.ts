import { describe, expect, it } from "vitest";
import { sql } from "drizzle-orm/sql/sql";
import { atomic } from "../db/atomic.js";
import { cacheTargets, withCacheTarget } from "./support/cache-targets.js";
import { app, call, errorOf } from "./support/client.js";
import { insertCategory, insertItem, type TestTenant } from "./support/fixtures.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";
import type { Db } from "../db/client.js";

/** A shop: Home > Candles, Kitchen; five published items and one of each kind that must not show. */
async function shop(db: Db, t: TestTenant) {
  const home = await insertCategory(db, t.id, { name: "Home", slug: "home" });
  const candles = await insertCategory(db, t.id, { name: "Candles", slug: "candles", parentId: home });
  const kitchen = await insertCategory(db, t.id, { name: "Kitchen", slug: "kitchen" });
  const item = (name: string, o: Parameters<typeof insertItem>[2]) => insertItem(db, t.id, { name, published: true, ...o });
  const ids = {
    vase: await item("Vase", { priceCents: 3000, stock: 50, categoryId: home }),
    candle: await item("Candle", { priceCents: 1800, stock: 3, lowStockThreshold: 5, categoryId: candles }),
    wick: await item("Wick", { priceCents: 200, stock: 0, categoryId: candles }),
    mug: await item("Mug", { priceCents: 2400, stock: 12, categoryId: kitchen }),
    card: await item("Card", { priceCents: 900, stock: 30 }),
    draft: await insertItem(db, t.id, { name: "Draft", published: false }),
    gone: await insertItem(db, t.id, { name: "Gone", published: true, deleted: true }),
  };
  return { ids, home, candles, kitchen };
}

const names = (r: { json: { items: { name: string }[] } }) => r.json.items.map((i) => i.name);

describe.each(dbTargets())("storefront catalog on %s", (name) => {
  const ctx = withTarget(name);

  it("lists published live products with availability, never stock or internal fields", async () => {
    const t = await ctx.tenant();
    const { ids, candles } = await shop(ctx.db, t);
    const list = await call("GET", `/api/store/${t.slug}/products?limit=10`);
    expect(list.status).toBe(200);
    expect(names(list)).toEqual(["Card", "Mug", "Wick", "Candle", "Vase"]);
    expect(list.json.pagination).toMatchObject({ page: 1, limit: 10, total: 5, totalPages: 1, nextCursor: null });
    const candle = list.json.items.find((i: { id: string }) => i.id === ids.candle);
    expect(candle).toEqual({
      id: ids.candle, name: "Candle", description: null, priceCents: 1800, compareAtPriceCents: null, currency: "USD", imageUrl: null,
      category: { id: candles, name: "Candles", slug: "candles" }, availability: "low_stock", createdAt: candle.createdAt,
    });
    expect(list.json.items.map((i: { availability: string }) => i.availability)).toEqual(["in_stock", "in_stock", "out_of_stock", "low_stock", "in_stock"]);
    expect(list.text).not.toMatch(/"stock"|lowStockThreshold|"version"|"sku"|deletedAt/);
    expect(list.headers.get("cache-control")).toMatch(/^public, s-maxage=\d+, stale-while-revalidate=\d+$/);
    expect(list.headers.get("etag")).toMatch(/^"[A-Za-z0-9_-]{32}"$/);
    expect(list.dbTrips).toBe(1);

    expect((await call("GET", `/api/store/${t.slug}/products/${ids.mug}`)).json).toMatchObject({ name: "Mug", availability: "in_stock" });
    for (const hidden of [ids.draft, ids.gone]) {
      const r = await call("GET", `/api/store/${t.slug}/products/${hidden}`);
      expect(r.status).toBe(404);
      errorOf(r);
    }
  });

  it("filters by category (with children), search, price and stock; sorts; pages by cursor", async () => {
    const t = await ctx.tenant();
    await shop(ctx.db, t);
    const base = `/api/store/${t.slug}/products`;
    expect(names(await call("GET", `${base}?category=home&sort=name`))).toEqual(["Candle", "Vase", "Wick"]);
    expect(names(await call("GET", `/api/store/${t.slug}/categories/candles/products?sort=price`))).toEqual(["Wick", "Candle"]);
    expect((await call("GET", `/api/store/${t.slug}/categories/nope/products`)).status).toBe(404);
    expect(names(await call("GET", `${base}?search=ug`))).toEqual(["Mug"]);
    expect(names(await call("GET", `${base}?minPrice=900&maxPrice=2400&sort=price`))).toEqual(["Card", "Candle", "Mug"]);
    expect(names(await call("GET", `${base}?inStock=false`))).toEqual(["Wick"]);
    expect(names(await call("GET", `${base}?inStock=true&sort=name`))).toEqual(["Candle", "Card", "Mug", "Vase"]);
    const bad = await call("GET", `${base}?cursor=abc&sort=price`);
    expect(bad.status).toBe(400);
    expect((await call("GET", `${base}?sort=cheapest`)).status).toBe(400);
    expect((await call("GET", `${base}?minPrice=1.5`)).status).toBe(400);
  });

  it("walks a long list by keyset cursor without gaps or repeats, in every sort", async () => {
    const t = await ctx.tenant();
    for (let i = 0; i < 23; i++) await insertItem(ctx.db, t.id, { name: `P${String(i % 7).padStart(2, "0")}`, priceCents: (i * 37) % 11, published: true });
    for (const sort of ["newest", "price", "name"]) {
      const ids: string[] = [];
      let r = await call("GET", `/api/store/${t.slug}/products?sort=${sort}&limit=10`);
      ids.push(...r.json.items.map((i: { id: string }) => i.id));
      while (r.json.pagination.nextCursor) {
        r = await call("GET", `/api/store/${t.slug}/products?sort=${sort}&limit=10&cursor=${r.json.pagination.nextCursor}`);
        expect(r.status).toBe(200);
        expect(r.json.pagination.total).toBeUndefined();
        ids.push(...r.json.items.map((i: { id: string }) => i.id));
      }
      expect(ids.length).toBe(23);
      expect(new Set(ids).size).toBe(23);
      const paged = [1, 2, 3].map(async (page) => (await call("GET", `/api/store/${t.slug}/products?sort=${sort}&limit=10&page=${page}`)).json.items.map((i: { id: string }) => i.id));
      expect((await Promise.all(paged)).flat()).toEqual(ids);
    }
  });

  it("answers the category tree with counts that include children", async () => {
    const t = await ctx.tenant();
    await shop(ctx.db, t);
    const tree = await call("GET", `/api/store/${t.slug}/categories`);
    expect(tree.status).toBe(200);
    expect(tree.json.items.map((c: { slug: string; productCount: number; children: { slug: string; productCount: number }[] }) => [c.slug, c.productCount, c.children.map((k) => [k.slug, k.productCount])])).toEqual([
      ["home", 3, [["candles", 2]]],
      ["kitchen", 1, []],
    ]);
  });

  it("is 404 for unknown and deleted shops, and never shows another shop's items", async () => {
    const t = await ctx.tenant();
    const other = await ctx.tenant();
    const { ids } = await shop(ctx.db, other);
    expect((await call("GET", `/api/store/${t.slug}/products/${ids.mug}`)).status).toBe(404);
    expect((await call("GET", `/api/store/${t.slug}/products`)).json.items).toEqual([]);
    expect((await call("GET", `/api/store/no-such-shop-${t.id.slice(-6)}/products`)).status).toBe(404);
    expect((await call("GET", `/api/store/${t.slug}/categories/home/products`)).status).toBe(404);
    await atomic(ctx.db, [sql`UPDATE tenants SET deleted_at = now() WHERE id = ${other.id}`]);
    const gone = await call("GET", `/api/store/${other.slug}/categories`);
    expect(gone.status).toBe(404);
    expect(errorOf(gone).code).toBe("not_found");
    expect((await call("GET", "/api/store/Not_A_Slug/products")).status).toBe(400);
  });
});

describe.each(cacheTargets())("storefront catalog cache on %s", (cacheName) => {
  withCacheTarget(cacheName);
  const ctx = withTarget("pglite");
  const trips = cacheName === "memory" ? 0 : 1;

  it("serves repeats with no database trip and one Redis trip, 304s on ETag, and shows admin edits at once", async () => {
    const t = await ctx.tenant();
    const { ids } = await shop(ctx.db, t);
    const path = `/api/store/${t.slug}/products?sort=price`;
    const first = await call("GET", path);
    expect([first.status, first.dbTrips]).toEqual([200, 1]);
    await app().settle();
    const second = await call("GET", path);
    expect(second.headers.get("x-cache")).toBe("MISS");
    await app().settle();
    const third = await call("GET", path);
    expect(third.headers.get("x-cache")).toBe("HIT");
    expect([third.dbTrips, third.redisTrips]).toEqual([0, trips]);
    expect(third.text).toBe(first.text);
    expect(third.headers.get("etag")).toBe(first.headers.get("etag"));
    const notModified = await call("GET", path, { headers: { "if-none-match": first.headers.get("etag")! } });
    expect(notModified.status).toBe(304);
    expect(notModified.dbTrips).toBe(0);
    expect(notModified.headers.get("cache-control")).toMatch(/^public/);

    // An admin edit: the next read is fresh.
    const edited = await call("PUT", `/api/items/${ids.mug}`, { token: t.users.admin.token, body: { priceCents: 100 } });
    expect(edited.status).toBe(200);
    const after = await call("GET", path);
    expect(after.headers.get("x-cache")).toBe("MISS");
    expect(names(after).slice(0, 2)).toEqual(["Mug", "Wick"]);
    expect(after.json.items[0]).toMatchObject({ name: "Mug", priceCents: 100 });
    expect(after.headers.get("etag")).not.toBe(first.headers.get("etag"));
    // A sale changes availability: orders bump the same tags.
    const sold = await call("POST", "/api/orders", { token: t.users.staff.token, body: { channel: "call", items: [{ itemId: ids.candle, quantity: 3 }] } });
    expect(sold.status).toBe(201);
    const product = await call("GET", `/api/store/${t.slug}/products/${ids.candle}`);
    expect(product.json.availability).toBe("out_of_stock");
  });
});
