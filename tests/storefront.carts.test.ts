import { describe, expect, it } from "vitest";
import { sql } from "drizzle-orm/sql/sql";
import { atomic } from "../db/atomic.js";
import { sessionHeaders } from "../lib/http/shop-session.js";
import { cacheTargets, withCacheTarget } from "./support/cache-targets.js";
import { call, errorOf, type CallResult } from "./support/client.js";
import { insertItem } from "./support/fixtures.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

const sid = (r: CallResult) => r.headers.get("x-session-id")!;

describe.each(dbTargets())("guest carts on %s", (name) => {
  const ctx = withTarget(name);

  it("issues a session, adds, merges, changes, removes and clears lines with current prices", async () => {
    const t = await ctx.tenant();
    const mug = await insertItem(ctx.db, t.id, { name: "Mug", priceCents: 1200, stock: 5, published: true });
    const card = await insertItem(ctx.db, t.id, { name: "Card", priceCents: 300, stock: 50, published: true });
    const base = `/api/store/${t.slug}/cart`;

    const empty = await call("GET", base);
    expect(empty.status).toBe(200);
    expect(empty.json).toEqual({ items: [], totals: { lines: 0, units: 0, subtotalCents: 0, currency: "USD" }, issues: 0 });
    expect(sid(empty)).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(empty.headers.get("set-cookie")).toBe(`session_id=${sid(empty)}; Path=/api/store; Max-Age=604800; HttpOnly; SameSite=Lax`);
    expect(empty.headers.get("cache-control")).toBe("private, no-store");

    const added = await call("POST", `${base}/items`, { body: { itemId: mug, quantity: 2 } });
    expect(added.status).toBe(201);
    const session = sid(added);
    expect(added.json).toEqual({ line: { itemId: mug, quantity: 2, unitPriceCents: 1200 }, totals: { lines: 1, units: 2 } });
    const again = await call("POST", `${base}/items`, { body: { itemId: mug, quantity: 1 }, headers: { "x-session-id": session } });
    expect(sid(again)).toBe(session);
    expect(again.json.line.quantity).toBe(3);
    // The cookie works as well as the header.
    await call("POST", `${base}/items`, { body: { itemId: card, quantity: 4 }, headers: { cookie: `theme=dark; session_id=${session}` } });

    const cart = await call("GET", base, { headers: { "x-session-id": session } });
    expect(cart.json.items).toEqual([
      { itemId: mug, name: "Mug", imageUrl: null, quantity: 3, unitPriceCents: 1200, lineTotalCents: 3600, previousPriceCents: null, priceChanged: false, availability: "low_stock", available: true },
      { itemId: card, name: "Card", imageUrl: null, quantity: 4, unitPriceCents: 300, lineTotalCents: 1200, previousPriceCents: null, priceChanged: false, availability: "in_stock", available: true },
    ]);
    expect(cart.json.totals).toEqual({ lines: 2, units: 7, subtotalCents: 4800, currency: "USD" });
    expect(cart.dbTrips).toBe(1);

    // Price changes and stock shortfalls are flagged, not hidden.
    await atomic(ctx.db, [sql`UPDATE items SET price_cents = 1500, stock = 2 WHERE id = ${mug}`]);
    const flagged = await call("GET", base, { headers: { "x-session-id": session } });
    expect(flagged.json.items[0]).toMatchObject({ unitPriceCents: 1500, previousPriceCents: 1200, priceChanged: true, available: false, lineTotalCents: 4500 });
    expect(flagged.json.issues).toBe(1);
    // Setting the quantity takes the price as it is now.
    const set = await call("PUT", `${base}/items/${mug}`, { body: { quantity: 1 }, headers: { "x-session-id": session } });
    expect(set.json.line).toEqual({ itemId: mug, quantity: 1, unitPriceCents: 1500 });
    expect((await call("GET", base, { headers: { "x-session-id": session } })).json.issues).toBe(0);

    // Unpublishing makes the line unavailable.
    await atomic(ctx.db, [sql`UPDATE items SET published = false WHERE id = ${card}`]);
    const gone = await call("GET", base, { headers: { "x-session-id": session } });
    expect(gone.json.items[1]).toMatchObject({ itemId: card, availability: "unavailable", available: false, name: null });
    expect(gone.json.totals.units).toBe(1);

    const removed = await call("DELETE", `${base}/items/${card}`, { headers: { "x-session-id": session } });
    expect(removed.status).toBe(200);
    expect(removed.json).toEqual({ line: null, totals: { lines: 1, units: 1 } });
    expect(removed.dbTrips).toBe(0);
    expect((await call("DELETE", `${base}/items/${card}`, { headers: { "x-session-id": session } })).status).toBe(404);

    const cleared = await call("DELETE", base, { headers: { "x-session-id": session } });
    expect(cleared.status).toBe(204);
    const after = await call("GET", base, { headers: { "x-session-id": session } });
    expect(after.json.items).toEqual([]);
    expect(sid(after)).not.toBe(session);
  });

  it("never adopts a client-chosen or foreign session id; shop A's session is unknown in shop B", async () => {
    const a = await ctx.tenant();
    const b = await ctx.tenant();
    const itemA = await insertItem(ctx.db, a.id, { published: true });
    const itemB = await insertItem(ctx.db, b.id, { published: true });
    const made = await call("POST", `/api/store/${a.slug}/cart/items`, { body: { itemId: itemA, quantity: 1 } });
    const session = sid(made);
    const inB = await call("GET", `/api/store/${b.slug}/cart`, { headers: { "x-session-id": session } });
    expect(inB.json.items).toEqual([]);
    expect(sid(inB)).not.toBe(session);
    const addB = await call("POST", `/api/store/${b.slug}/cart/items`, { body: { itemId: itemB, quantity: 1 }, headers: { "x-session-id": session } });
    expect(sid(addB)).not.toBe(session);
    expect((await call("GET", `/api/store/${a.slug}/cart`, { headers: { "x-session-id": session } })).json.items).toHaveLength(1);

    for (const chosen of ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "short", "x".repeat(500), "bad id!\u0001"]) {
      const r = await call("POST", `/api/store/${a.slug}/cart/items`, { body: { itemId: itemA, quantity: 1 }, headers: { "x-session-id": chosen } });
      expect(r.status).toBe(201);
      expect(sid(r)).not.toBe(chosen);
      expect(r.json.line.quantity).toBe(1);
    }
  });

  it("refuses bad input with 4xx in the error shape and changes nothing", async () => {
    const t = await ctx.tenant();
    const other = await ctx.tenant();
    const ok = await insertItem(ctx.db, t.id, { published: true });
    const draft = await insertItem(ctx.db, t.id, { published: false });
    const deleted = await insertItem(ctx.db, t.id, { published: true, deleted: true });
    const foreign = await insertItem(ctx.db, other.id, { published: true });
    const base = `/api/store/${t.slug}/cart`;
    const session = sid(await call("POST", `${base}/items`, { body: { itemId: ok, quantity: 1 } }));
    const h = { "x-session-id": session };
    for (const itemId of [draft, deleted, foreign, "01a20813-0118-73be-a81c-b59c7a651c18"]) {
      const r = await call("POST", `${base}/items`, { body: { itemId, quantity: 1 }, headers: h });
      expect(r.status).toBe(422);
      expect(errorOf(r).details![0]!.path).toBe("itemId");
    }
    for (const quantity of [0, 100, 1.5, "2", -1, null]) {
      const r = await call("POST", `${base}/items`, { body: { itemId: ok, quantity }, headers: h });
      expect(r.status).toBe(422);
      expect(errorOf(r).details![0]!.path).toBe("quantity");
    }
    expect((await call("POST", `${base}/items`, { body: { itemId: ok, quantity: 99 }, headers: h })).status).toBe(422);
    expect((await call("POST", `${base}/items`, { body: { itemId: "x\u0000", quantity: 1 }, headers: h })).status).toBe(422);
    expect((await call("POST", `${base}/items`, { body: { itemId: ok, quantity: 1, price: 1 }, headers: h })).status).toBe(422);
    expect((await call("POST", `/api/store/no-shop-${t.id.slice(-6)}/cart/items`, { body: { itemId: ok, quantity: 1 } })).status).toBe(404);
    expect((await call("GET", `/api/store/no-shop-${t.id.slice(-6)}/cart`)).status).toBe(404);
    const cart = await call("GET", base, { headers: h });
    expect(cart.json.items).toEqual([expect.objectContaining({ itemId: ok, quantity: 1 })]);
  });

  it("holds at most 50 lines", async () => {
    const t = await ctx.tenant();
    const items = await Promise.all(Array.from({ length: 51 }, () => insertItem(ctx.db, t.id, { published: true })));
    let session: string | undefined;
    for (const itemId of items.slice(0, 50)) {
      const r = await call("POST", `/api/store/${t.slug}/cart/items`, { body: { itemId, quantity: 1 }, headers: session ? { "x-session-id": session } : {} });
      expect(r.status).toBe(201);
      session = sid(r);
    }
    const over = await call("POST", `/api/store/${t.slug}/cart/items`, { body: { itemId: items[50], quantity: 1 }, headers: { "x-session-id": session! } });
    expect(over.status).toBe(422);
    expect((await call("GET", `/api/store/${t.slug}/cart`, { headers: { "x-session-id": session! } })).json.totals.lines).toBe(50);
  });
});

describe.each(cacheTargets())("guest carts on the %s store", (cacheName) => {
  withCacheTarget(cacheName);
  const ctx = withTarget("pglite");
  const trips = cacheName === "memory" ? 0 : 1;

  it("costs at most one Redis trip (rate limit included) per cart operation", async () => {
    const t = await ctx.tenant();
    const item = await insertItem(ctx.db, t.id, { published: true });
    const base = `/api/store/${t.slug}/cart`;
    // Warm: the limiter loads its script once per Redis.
    await call("GET", base);
    const add = await call("POST", `${base}/items`, { body: { itemId: item, quantity: 1 } });
    const h = { "x-session-id": sid(add) };
    const results = [
      add,
      await call("GET", base, { headers: h }),
      await call("PUT", `${base}/items/${item}`, { body: { quantity: 3 }, headers: h }),
      await call("DELETE", `${base}/items/${item}`, { headers: h }),
      await call("DELETE", base, { headers: h }),
    ];
    for (const r of results) {
      expect(r.status).toBeLessThan(300);
      expect([r.status, r.redisTrips]).toEqual([r.status, trips]);
      expect(r.dbTrips).toBeLessThanOrEqual(1);
    }
  });

  it("sends Secure cookies outside localhost", () => {
    const headers = sessionHeaders(new Request("https://shop.example.com/api/store/x/cart"), "s".repeat(43), 604800);
    expect(headers["Set-Cookie"]).toBe(`session_id=${"s".repeat(43)}; Path=/api/store; Max-Age=604800; HttpOnly; SameSite=Lax; Secure`);
  });
});
