import { readFileSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS_FOLDER } from "../db/migrate.js";

// Migrations must apply to a database that already has data. Each migration worth testing that way
// gets its data here: applied up to the one before, filled, then migrated.
const journal = JSON.parse(readFileSync(join(MIGRATIONS_FOLDER, "meta/_journal.json"), "utf8")) as { entries: { idx: number; tag: string }[] };

async function apply(db: PGlite, from: number, to: number) {
  for (const entry of journal.entries.filter((e) => e.idx >= from && e.idx <= to)) {
    for (const statement of readFileSync(join(MIGRATIONS_FOLDER, `${entry.tag}.sql`), "utf8").split("--> statement-breakpoint")) {
      if (statement.trim()) await db.exec(statement);
    }
  }
}

describe("migration 0007 (idempotency key principals) on existing data", () => {
  let db: PGlite;
  const ids = {
    tenant: "01a20000-0000-7000-8000-000000000001",
    user: "01a20000-0000-7000-8000-000000000002",
    admin: "01a20000-0000-7000-8000-000000000003",
    item: "01a20000-0000-7000-8000-000000000004",
    order: "01a20000-0000-7000-8000-000000000005",
    cancelled: "01a20000-0000-7000-8000-000000000006",
    movement: "01a20000-0000-7000-8000-000000000007",
  };
  beforeAll(async () => {
    db = new PGlite();
    await apply(db, 0, 6);
    await db.exec(`
      INSERT INTO tenants (id, slug, name) VALUES ('${ids.tenant}', 'old', 'Old shop');
      INSERT INTO items (id, tenant_id, name, price_cents, stock) VALUES ('${ids.item}', '${ids.tenant}', 'Mug', 500, 10);
      INSERT INTO orders (id, tenant_id, number, channel, total_cents, units, created_by) VALUES ('${ids.order}', '${ids.tenant}', 1001, 'web', 500, 1, '${ids.user}');
      INSERT INTO orders (id, tenant_id, number, channel, status, total_cents, units, created_by) VALUES ('${ids.cancelled}', '${ids.tenant}', 1002, 'web', 'cancelled', 500, 1, '${ids.user}');
      INSERT INTO stock_movements (id, tenant_id, item_id, delta, reason, note, created_by) VALUES ('${ids.movement}', '${ids.tenant}', '${ids.item}', 3, 'adjustment', 'count', '${ids.admin}');
      INSERT INTO stock_movements (id, tenant_id, item_id, delta, reason, order_id, created_by) VALUES (gen_random_uuid(), '${ids.tenant}', '${ids.item}', 1, 'cancel', '${ids.cancelled}', '${ids.admin}');
      INSERT INTO idempotency_keys (tenant_id, scope, key, request_hash, resource_id) VALUES
        ('${ids.tenant}', 'POST /api/orders', 'k', 'h1', '${ids.order}'),
        ('${ids.tenant}', 'POST /api/items/${ids.item}/stock-adjustments', 'k', 'h2', '${ids.movement}'),
        ('${ids.tenant}', 'POST /api/orders/${ids.cancelled}/cancel', 'k', 'h3', '${ids.cancelled}'),
        ('${ids.tenant}', 'POST /api/public/feedbacks#abc123', 'k', 'h4', gen_random_uuid()),
        ('${ids.tenant}', 'POST /api/orders/${ids.order}/cancel', 'k', 'h5', '${ids.order}');
    `);
    await apply(db, 7, 7);
  }, 60_000);
  afterAll(async () => {
    await db?.close();
  });

  it("gives every existing key the principal that made its resource, or one nobody matches", async () => {
    const rows = (await db.query<{ scope: string; principal: string }>("SELECT scope, principal FROM idempotency_keys ORDER BY request_hash")).rows;
    expect(rows).toEqual([
      { scope: "POST /api/orders", principal: `user:${ids.user}` },
      { scope: `POST /api/items/${ids.item}/stock-adjustments`, principal: `user:${ids.admin}` },
      { scope: `POST /api/orders/${ids.cancelled}/cancel`, principal: `user:${ids.admin}` },
      { scope: "POST /api/public/feedbacks#abc123", principal: "link:abc123" },
      { scope: `POST /api/orders/${ids.order}/cancel`, principal: "legacy:unknown" },
    ]);
  });

  it("keys the table by tenant, principal, route and key, and accepts 'set' movements", async () => {
    await db.exec(`INSERT INTO idempotency_keys (tenant_id, principal, scope, key, request_hash, resource_id) VALUES ('${ids.tenant}', 'user:other', 'POST /api/orders', 'k', 'h6', gen_random_uuid())`);
    await expect(db.exec(`INSERT INTO idempotency_keys (tenant_id, principal, scope, key, request_hash, resource_id) VALUES ('${ids.tenant}', 'user:other', 'POST /api/orders', 'k', 'h7', gen_random_uuid())`)).rejects.toThrow(/duplicate key/);
    await db.exec(`INSERT INTO stock_movements (id, tenant_id, item_id, delta, reason) VALUES (gen_random_uuid(), '${ids.tenant}', '${ids.item}', -2, 'set')`);
  });
});

describe("migration 0013 (storefront categories) on existing data", () => {
  let db: PGlite;
  const storefront = journal.entries.find((e) => e.tag.endsWith("_storefront"))!;
  const tenantA = "01a20000-0000-7000-8000-0000000000a1";
  const tenantB = "01a20000-0000-7000-8000-0000000000b1";
  beforeAll(async () => {
    db = new PGlite();
    await apply(db, 0, storefront.idx - 1);
    const item = (n: number, tenant: string, category: string | null) =>
      `('01a20000-0000-7000-8000-0000000001${String(n).padStart(2, "0")}', '${tenant}', 'Item ${n}', 500, 1, ${category === null ? "NULL" : `'${category.replace(/'/g, "''")}'`})`;
    await db.exec(`
      INSERT INTO tenants (id, slug, name) VALUES ('${tenantA}', 'shop-a', 'A'), ('${tenantB}', 'shop-b', 'B');
      INSERT INTO items (id, tenant_id, name, price_cents, stock, category) VALUES
        ${[
          item(1, tenantA, "Kitchen"),
          item(2, tenantA, "kitchen "),
          item(3, tenantA, "Home & Garden"),
          item(4, tenantA, "Home - Garden"),
          item(5, tenantA, null),
          item(6, tenantA, "  "),
          item(7, tenantA, "食品"),
          item(8, tenantB, "Kitchen"),
        ].join(",\n")};
    `);
    await apply(db, storefront.idx, storefront.idx);
  }, 60_000);
  afterAll(async () => {
    await db?.close();
  });

  it("turns each tenant's free-text categories into categories, links every item, keeps the text", async () => {
    const cats = (await db.query<{ tenant_id: string; name: string; slug: string }>("SELECT tenant_id, name, slug FROM categories ORDER BY tenant_id, slug")).rows;
    const a = cats.filter((c) => c.tenant_id === tenantA);
    expect(a.map((c) => c.name).sort()).toEqual(["Home & Garden", "Home - Garden", "Kitchen", "食品"].sort());
    expect(new Set(a.map((c) => c.slug)).size).toBe(4);
    expect(a.find((c) => c.name === "Kitchen")!.slug).toBe("kitchen");
    expect(a.find((c) => c.name === "食品")!.slug).toBe("category");
    expect(cats.filter((c) => c.tenant_id === tenantB)).toEqual([{ tenant_id: tenantB, name: "Kitchen", slug: "kitchen" }]);
    const items = (await db.query<{ name: string; category: string | null; cat: string | null; published: boolean }>(
      "SELECT i.name, i.category, c.name AS cat, i.published FROM items i LEFT JOIN categories c ON c.id = i.category_id ORDER BY i.name",
    )).rows;
    // Nothing lost: the text is untouched; every non-blank one is linked to the category of its (case-folded) name.
    expect(items.map((i) => [i.name, i.category, i.cat])).toEqual([
      ["Item 1", "Kitchen", "Kitchen"],
      ["Item 2", "kitchen ", "Kitchen"],
      ["Item 3", "Home & Garden", "Home & Garden"],
      ["Item 4", "Home - Garden", "Home - Garden"],
      ["Item 5", null, null],
      ["Item 6", "  ", null],
      ["Item 7", "食品", "食品"],
      ["Item 8", "Kitchen", "Kitchen"],
    ]);
    expect(items.every((i) => i.published === false)).toBe(true);
  });
});
