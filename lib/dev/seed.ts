import { sql } from "drizzle-orm/sql/sql";
import { atomic } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { newId } from "../../db/ids.js";
import { DEV_ISSUER, demoSubject } from "../auth/dev-tokens.js";
import { categorySlugFromName } from "../categories/schemas.js";

export const DEMO_TENANT = { id: "0190a0a0-0000-7000-8000-000000000001", slug: "demo", name: "Demo Shop" };
export const DEMO_ROLES = ["owner", "admin", "staff"] as const;

const DEMO_ITEMS: [name: string, sku: string, priceCents: number, stock: number, category: string][] = [
  ["Handmade soy candle", "CAN-001", 1800, 42, "Home"],
  ["Lavender candle", "CAN-002", 2000, 6, "Home"],
  ["Ceramic mug", "MUG-001", 2400, 15, "Kitchen"],
  ["Linen tote bag", "BAG-001", 3200, 3, "Accessories"],
  ["Beeswax wraps (3)", "WRP-003", 1500, 60, "Kitchen"],
  ["Knitted scarf", "SCF-001", 4500, 8, "Accessories"],
  ["Leather keychain", "KEY-001", 1200, 120, "Accessories"],
  ["Herbal tea blend", "TEA-001", 950, 0, "Food"],
  ["Scented soap bar", "SOP-001", 700, 75, "Bath"],
  ["Macramé plant hanger", "MAC-001", 2800, 11, "Home"],
  ["Hand-painted card set", "CRD-005", 1100, 30, "Stationery"],
  ["Wooden serving board", "BRD-001", 3900, 9, "Kitchen"],
];

/** Creates the demo tenant with an owner, an admin, a staff user and a catalogue; does nothing if it exists. */
export async function seedDemo(db: Db): Promise<void> {
  const t = DEMO_TENANT;
  const users = DEMO_ROLES.map((role, i) => ({ id: `0190a0a0-0000-7000-8000-00000000010${i}`, role }));
  await atomic(db, [
    sql`INSERT INTO tenants (id, slug, name) VALUES (${t.id}, ${t.slug}, ${t.name}) ON CONFLICT DO NOTHING`,
    ...users.map(
      (u) => sql`INSERT INTO users (id, issuer, subject, email, name)
        VALUES (${u.id}, ${DEV_ISSUER}, ${demoSubject(t.slug, u.role)}, ${`${u.role}@demo.tally.dev`}, ${`Demo ${u.role}`})
        ON CONFLICT DO NOTHING`,
    ),
    ...users.map(
      (u) => sql`INSERT INTO memberships (id, tenant_id, user_id, role) VALUES (${u.id}, ${t.id}, ${u.id}, ${u.role}) ON CONFLICT DO NOTHING`,
    ),
    ...[...new Set(DEMO_ITEMS.map((i) => i[4]))].map(
      (category, position) => sql`
        INSERT INTO categories (id, tenant_id, name, slug, position)
        VALUES (${newId()}, ${t.id}, ${category}, ${categorySlugFromName(category)}, ${position}) ON CONFLICT DO NOTHING`,
    ),
    // Published, so the demo shop (/api/store/demo/products) has something to show.
    ...DEMO_ITEMS.map(
      ([name, sku, price, stock, category]) => sql`
        INSERT INTO items (id, tenant_id, name, sku, price_cents, stock, category, category_id, published)
        SELECT ${newId()}, ${t.id}, ${name}, ${sku}, ${price}, ${stock}, ${category},
               (SELECT id FROM categories WHERE tenant_id = ${t.id} AND slug = ${categorySlugFromName(category)}), true
        WHERE NOT EXISTS (SELECT 1 FROM items WHERE tenant_id = ${t.id} AND lower(sku) = lower(${sku}))`,
    ),
  ]);
}
