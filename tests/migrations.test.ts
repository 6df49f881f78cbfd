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
      { scope: "POST /api/public/feedbacks", principal: "link:abc123" },
      { scope: `POST /api/orders/${ids.order}/cancel`, principal: "legacy:unknown" },
    ]);
  });

  it("keys the table by tenant, principal, route and key, and accepts 'set' movements", async () => {
    await db.exec(`INSERT INTO idempotency_keys (tenant_id, principal, scope, key, request_hash, resource_id) VALUES ('${ids.tenant}', 'user:other', 'POST /api/orders', 'k', 'h6', gen_random_uuid())`);
    await expect(db.exec(`INSERT INTO idempotency_keys (tenant_id, principal, scope, key, request_hash, resource_id) VALUES ('${ids.tenant}', 'user:other', 'POST /api/orders', 'k', 'h7', gen_random_uuid())`)).rejects.toThrow(/duplicate key/);
    await db.exec(`INSERT INTO stock_movements (id, tenant_id, item_id, delta, reason) VALUES (gen_random_uuid(), '${ids.tenant}', '${ids.item}', -2, 'set')`);
  });
});
