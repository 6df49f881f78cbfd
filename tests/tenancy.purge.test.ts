import { sql } from "drizzle-orm/sql/sql";
import { describe, expect, it } from "vitest";
import { query } from "../db/atomic.js";
import { newId } from "../db/ids.js";
import { getBlobStore } from "../lib/platform/blob.js";
import { call } from "./support/client.js";
import { insertCustomer, insertFeedback, insertItem, tokenFor, type TestTenant } from "./support/fixtures.js";
import { makePng, useLocalBlobDir } from "./support/images.js";
import { withTarget } from "./support/suite.js";
import { dbTargets } from "./support/targets.js";

describe.each(dbTargets())("tenant purge on %s", (name) => {
  const ctx = withTarget(name);
  useLocalBlobDir("purge-blobs");

  const cron = (path: string) => call("GET", path, { token: "test-cron-secret" });
  const exists = async (id: string) => (await query(ctx.db, sql`SELECT 1 FROM tenants WHERE id = ${id}`)).length === 1;
  const deletedAgo = (id: string, days: number) => query(ctx.db, sql`UPDATE tenants SET deleted_at = now() - make_interval(days => ${days}) WHERE id = ${id}`);

  /** Every table with a tenant_id (found in the catalog, so tables added later are covered): rows of `id`. */
  async function rowsOf(id: string) {
    const tables = await query(
      ctx.db,
      sql`SELECT table_name FROM information_schema.columns WHERE column_name = 'tenant_id' AND table_schema = current_schema() ORDER BY table_name`,
    );
    const counts: Record<string, number> = {};
    for (const { table_name } of tables) {
      const [row] = await query(ctx.db, sql`SELECT count(*)::int AS n FROM ${sql.identifier(String(table_name))} WHERE tenant_id = ${id}`);
      if (row!.n) counts[String(table_name)] = Number(row!.n);
    }
    return counts;
  }

  /** Runs the cron until `id` is gone or a run purges nothing (other suites may leave due tenants too). */
  async function purgeUntilGone(id: string) {
    for (let run = 0; run < 20 && (await exists(id)); run++) {
      const result = await cron("/api/cron/purge-tenants");
      expect(result.status).toBe(200);
      if (result.json.purged === 0) break;
    }
  }

  /** A tenant with rows in most tables and an item image in the blob store. */
  async function populated(t: TestTenant) {
    const store = await getBlobStore();
    const item = await insertItem(ctx.db, t.id);
    const image = await store.put(`tenants/${t.id}/items/${item}/photo.png`, makePng(), "image/png");
    await query(ctx.db, sql`UPDATE items SET image_url = ${image.url} WHERE id = ${item}`);
    await insertCustomer(ctx.db, t.id);
    await insertFeedback(ctx.db, t);
    const order = await call("POST", "/api/orders", { token: t.users.staff.token, body: { channel: "web", items: [{ itemId: item, quantity: 1 }] }, headers: { "idempotency-key": `purge-${newId()}` } });
    expect(order.status).toBe(201);
    return { item, image };
  }

  it("purges tenants deleted more than 30 days ago with every row and image; 29 days ago stays restorable", async () => {
    const old = await ctx.tenant();
    const recent = await ctx.tenant();
    const live = await ctx.tenant();
    const { image } = await populated(old);
    const kept = await populated(recent);
    const liveItem = await insertItem(ctx.db, live.id);
    expect(Object.keys(await rowsOf(old.id))).toEqual(expect.arrayContaining(["api_keys", "customers", "feedbacks", "idempotency_keys", "items", "memberships", "order_lines", "orders", "stock_movements"]));
    const recentRows = await rowsOf(recent.id);
    await deletedAgo(old.id, 31);
    await deletedAgo(recent.id, 29);

    expect((await call("GET", "/api/cron/purge-tenants")).status).toBe(401);
    await purgeUntilGone(old.id);

    expect(await exists(old.id)).toBe(false);
    expect(await rowsOf(old.id)).toEqual({});
    const store = await getBlobStore();
    expect(await store.head(image.url)).toBeUndefined();
    // Its slug is free again.
    const newcomer = await tokenFor(`purge-${newId()}`, `purge-${newId()}@example.com`);
    expect((await call("POST", "/api/tenants", { token: newcomer, body: { name: "Next shop", slug: old.slug } })).status).toBe(201);

    // Deleted 29 days ago: untouched, image included, and its owner can still restore it.
    expect(await rowsOf(recent.id)).toEqual(recentRows);
    expect(await store.head(kept.image.url)).toMatchObject({ size: expect.any(Number) });
    expect((await call("POST", `/api/tenants/${recent.id}/restore`, { token: recent.users.owner.token })).status).toBe(200);
    const item = await call("GET", `/api/items/${kept.item}`, { token: recent.users.staff.token });
    expect(item.json).toMatchObject({ id: kept.item, imageUrl: kept.image.url });
    // A live tenant is never touched.
    expect((await call("GET", `/api/items/${liveItem}`, { token: live.users.staff.token })).status).toBe(200);
  });

  // On a shared real database another suite's blob-cleanup walk could drain this queue under the
  // test (its local store has no blocker); PGlite databases are per file.
  if (name.includes("pglite")) it("keeps a tenant and its queued image URL while the blob cannot be deleted; purges it once it is", async () => {
    const t = await ctx.tenant();
    const store = await getBlobStore();
    const item = await insertItem(ctx.db, t.id);
    // A URL whose deletion fails: its parent "directory" is a file (ENOTDIR), like a store outage.
    const blocker = await store.put(`tenants/${t.id}/items/${item}/blocker`, makePng(), "image/png");
    const stuck = `${blocker.url.slice(0, blocker.url.indexOf("?"))}?pathname=${encodeURIComponent(`${blocker.pathname}/photo.png`)}`;
    await query(ctx.db, sql`UPDATE items SET image_url = ${stuck} WHERE id = ${item}`);
    await deletedAgo(t.id, 31);

    for (let run = 0; run < 3; run++) expect((await cron("/api/cron/purge-tenants")).status).toBe(200);
    expect(await exists(t.id)).toBe(true);
    expect(await query(ctx.db, sql`SELECT url, attempts FROM blob_deletions WHERE tenant_id = ${t.id}`)).toEqual([{ url: stuck, attempts: 1 }]);
    expect(await query(ctx.db, sql`SELECT image_url FROM items WHERE id = ${item}`)).toEqual([{ image_url: null }]);

    // The store recovers: blob-cleanup empties the queue, and the next purge takes the tenant.
    await store.del([blocker.url]);
    await cron("/api/cron/blob-cleanup");
    expect(await query(ctx.db, sql`SELECT url FROM blob_deletions WHERE tenant_id = ${t.id}`)).toEqual([]);
    await purgeUntilGone(t.id);
    expect(await exists(t.id)).toBe(false);
    expect(await rowsOf(t.id)).toEqual({});
  });
});
