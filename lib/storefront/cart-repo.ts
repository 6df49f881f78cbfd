import { sql } from "../../db/sql.js";
import { query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { toNumber } from "../../db/values.js";
import { availabilitySql } from "./catalog-repo.js";

export interface ShopItem {
  id: string;
  name: string;
  priceCents: number;
  imageUrl: string | null;
  stock: number;
  availability: "in_stock" | "low_stock" | "out_of_stock";
}

/**
 * The shop (by slug, not deleted) and those of `itemIds` it sells now (published, live), in one
 * statement. Undefined: no such shop. Stock stays server-side (carts show availability).
 */
export async function shopItems(db: Db, slug: string, itemIds: string[]): Promise<{ tenantId: string; currency: string; items: Map<string, ShopItem> } | undefined> {
  const rows = await query(
    db,
    sql`
    WITH shop AS (SELECT t.id, t.currency FROM tenants t WHERE t.slug = ${slug} AND t.deleted_at IS NULL)
    SELECT s.id AS shop_id, s.currency, i.id, i.name, i.price_cents, i.image_url, i.stock, ${availabilitySql("i")} AS availability
    FROM shop s LEFT JOIN items i ON i.tenant_id = s.id AND i.deleted_at IS NULL AND i.published
      AND i.id IN (SELECT (x ->> 0)::uuid FROM jsonb_array_elements(${JSON.stringify(itemIds.map((id) => [id]))}::jsonb) x)`,
  );
  const first = rows[0];
  if (!first) return undefined;
  const items = new Map<string, ShopItem>();
  for (const r of rows) {
    if (!r.id) continue;
    items.set(String(r.id), {
      id: String(r.id),
      name: String(r.name),
      priceCents: toNumber(r.price_cents),
      imageUrl: (r.image_url as string | null) ?? null,
      stock: toNumber(r.stock),
      availability: String(r.availability) as ShopItem["availability"],
    });
  }
  return { tenantId: String(first.shop_id), currency: String(first.currency), items };
}
