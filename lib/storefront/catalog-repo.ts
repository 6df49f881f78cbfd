import { sql, type SQL } from "../../db/sql.js";
import { query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { likeContaining, toIso, toNumber } from "../../db/values.js";
import type { ProductListInput, ShopCategoryNode } from "./schemas.js";

// Catalog reads: each one statement that also resolves the shop (tenant slug, not deleted), so a
// cache miss is one round trip even on an instance that has never seen the shop. Only published,
// live items; the answer says how available an item is, never its stock.

export interface Product {
  id: string;
  name: string;
  description: string | null;
  priceCents: number;
  compareAtPriceCents: number | null;
  currency: string;
  imageUrl: string | null;
  category: { id: string; name: string; slug: string } | null;
  availability: "in_stock" | "low_stock" | "out_of_stock";
  createdAt: string;
}

/** in_stock above the item's low-stock threshold, low_stock from 1 up to it, out_of_stock at 0. */
export const availabilitySql = (i: string) =>
  sql.raw(`CASE WHEN ${i}.stock <= 0 THEN 'out_of_stock' WHEN ${i}.stock <= ${i}.low_stock_threshold THEN 'low_stock' ELSE 'in_stock' END`);

const shopCte = (slug: string) => sql`shop AS (SELECT t.id, t.currency FROM tenants t WHERE t.slug = ${slug} AND t.deleted_at IS NULL)`;

/** Columns of a product row `m` (an items row) joined to its category `pc`. */
const productColumns = (m: string) =>
  sql.raw(`${m}.id, ${m}.name, ${m}.description, ${m}.price_cents, ${m}.compare_at_price_cents, ${m}.image_url, ${m}.created_at, ${m}.price_cents AS sort_price,
  lower(${m}.name) AS sort_name, pc.id AS category_id, pc.name AS category_name, pc.slug AS category_slug`);

export function toProduct(row: Record<string, unknown>, currency: string): Product {
  return {
    id: String(row.id),
    name: String(row.name),
    description: (row.description as string | null) ?? null,
    priceCents: toNumber(row.price_cents),
    compareAtPriceCents: row.compare_at_price_cents === null || row.compare_at_price_cents === undefined ? null : toNumber(row.compare_at_price_cents),
    currency,
    imageUrl: (row.image_url as string | null) ?? null,
    category: row.category_id ? { id: String(row.category_id), name: String(row.category_name), slug: String(row.category_slug) } : null,
    availability: String(row.availability) as Product["availability"],
    createdAt: toIso(row.created_at),
  };
}

const ORDER: Record<ProductListInput["sort"], string> = {
  // Ids are UUIDv7, so id order is creation order.
  newest: "p.id DESC",
  price: "p.sort_price ASC, p.id ASC",
  name: "p.sort_name ASC, p.id ASC",
};

/** Rows after the cursor, in the sort's order. */
function afterCursor(sort: ProductListInput["sort"], cursor: Cursor): SQL {
  if (sort === "newest") return sql`WHERE p.id < ${cursor.id}::uuid`;
  if (sort === "price") return sql`WHERE (p.sort_price, p.id) > (${Number(cursor.key)}::int, ${cursor.id}::uuid)`;
  return sql`WHERE (p.sort_name, p.id) > (${String(cursor.key)}::text, ${cursor.id}::uuid)`;
}

export interface Cursor {
  key: string | number | null;
  id: string;
}

export interface ProductPage {
  tenantId: string;
  currency: string;
  /** Set when a category slug was asked for: whether the shop has it. */
  categoryFound: boolean;
  total: number;
  products: Product[];
  /** The last product's cursor when there may be more. */
  last?: Cursor;
}

export async function listProducts(db: Db, slug: string, input: ProductListInput, cursor: Cursor | undefined): Promise<ProductPage | undefined> {
  const filters: SQL[] = [sql`i.tenant_id = (SELECT id FROM shop)`, sql`i.deleted_at IS NULL`, sql`i.published`];
  if (input.category) filters.push(sql`i.category_id IN (SELECT id FROM cats)`);
  if (input.search) filters.push(sql`(i.name ILIKE ${likeContaining(input.search)} OR i.description ILIKE ${likeContaining(input.search)})`);
  if (input.minPrice !== undefined) filters.push(sql`i.price_cents >= ${input.minPrice}`);
  if (input.maxPrice !== undefined) filters.push(sql`i.price_cents <= ${input.maxPrice}`);
  if (input.inStock !== undefined) filters.push(input.inStock ? sql`i.stock > 0` : sql`i.stock <= 0`);
  const after = cursor ? afterCursor(input.sort, cursor) : sql``;
  const offset = cursor ? 0 : (input.page - 1) * input.limit;
  // Categories: the one named and every one under it (UNION stops at anything seen twice).
  const cats = input.category
    ? sql`cats AS (
        SELECT c.id FROM categories c WHERE c.tenant_id = (SELECT id FROM shop) AND c.slug = ${input.category}
        UNION SELECT c.id FROM categories c JOIN cats ON c.parent_id = cats.id
      ),`
    : sql``;
  const rows = await query(
    db,
    sql`
    WITH RECURSIVE ${shopCte(slug)},
    ${cats}
    matching AS (SELECT i.* FROM items i WHERE ${sql.join(filters, sql` AND `)})
    SELECT s.id AS shop_id, s.currency, n.total, ${input.category ? sql`EXISTS (SELECT 1 FROM cats)` : sql`true`} AS category_found, p.*
    FROM shop s CROSS JOIN (SELECT count(*) AS total FROM matching) n
    LEFT JOIN LATERAL (
      SELECT p.* FROM (
        SELECT ${productColumns("m")}, ${availabilitySql("m")} AS availability
        FROM matching m LEFT JOIN categories pc ON pc.id = m.category_id
      ) p ${after}
      ORDER BY ${sql.raw(ORDER[input.sort])} LIMIT ${input.limit + 1} OFFSET ${offset}
    ) p ON true`,
  );
  const first = rows[0];
  if (!first) return undefined;
  const currency = String(first.currency);
  const found = rows.filter((r) => r.id !== null && r.id !== undefined);
  const more = found.length > input.limit;
  const page = found.slice(0, input.limit);
  const tail = page[page.length - 1];
  return {
    tenantId: String(first.shop_id),
    currency,
    categoryFound: first.category_found === true || first.category_found === "t",
    total: toNumber(first.total),
    products: page.map((r) => toProduct(r, currency)),
    last: more && tail ? { key: input.sort === "price" ? toNumber(tail.sort_price) : input.sort === "name" ? String(tail.sort_name) : null, id: String(tail.id) } : undefined,
  };
}

export async function findProduct(db: Db, slug: string, id: string): Promise<{ tenantId: string; product: Product | undefined } | undefined> {
  const rows = await query(
    db,
    sql`
    WITH ${shopCte(slug)}
    SELECT s.id AS shop_id, s.currency, p.*
    FROM shop s LEFT JOIN LATERAL (
      SELECT ${productColumns("i")}, ${availabilitySql("i")} AS availability
      FROM items i LEFT JOIN categories pc ON pc.id = i.category_id
      WHERE i.tenant_id = s.id AND i.id = ${id} AND i.deleted_at IS NULL AND i.published
    ) p ON true`,
  );
  const row = rows[0];
  if (!row) return undefined;
  return { tenantId: String(row.shop_id), product: row.id ? toProduct(row, String(row.currency)) : undefined };
}

export async function categoryTree(db: Db, slug: string): Promise<{ tenantId: string; items: ShopCategoryNode[] } | undefined> {
  const rows = await query(
    db,
    sql`
    WITH ${shopCte(slug)},
    counts AS (
      SELECT i.category_id, count(*) AS n FROM items i
      WHERE i.tenant_id = (SELECT id FROM shop) AND i.deleted_at IS NULL AND i.published AND i.category_id IS NOT NULL
      GROUP BY i.category_id
    )
    SELECT s.id AS shop_id, c.id, c.name, c.slug, c.parent_id, c.position, coalesce(n.n, 0) AS direct
    FROM shop s LEFT JOIN categories c ON c.tenant_id = s.id LEFT JOIN counts n ON n.category_id = c.id
    ORDER BY c.position, lower(c.name), c.id`,
  );
  const first = rows[0];
  if (!first) return undefined;
  const nodes = new Map<string, ShopCategoryNode & { parentId: string | null; direct: number }>();
  for (const r of rows) {
    if (!r.id) continue;
    nodes.set(String(r.id), { id: String(r.id), name: String(r.name), slug: String(r.slug), position: toNumber(r.position), productCount: 0, children: [], parentId: (r.parent_id as string | null) ?? null, direct: toNumber(r.direct) });
  }
  const roots: ShopCategoryNode[] = [];
  for (const node of nodes.values()) {
    const parent = node.parentId ? nodes.get(node.parentId) : undefined;
    (parent ? parent.children : roots).push(node);
  }
  const total = (node: ShopCategoryNode & { direct?: number }, seen: Set<string>): number => {
    if (seen.has(node.id)) return 0;
    seen.add(node.id);
    node.productCount = (node.direct ?? 0) + node.children.reduce((sum, child) => sum + total(child, seen), 0);
    return node.productCount;
  };
  const seen = new Set<string>();
  roots.forEach((root) => total(root, seen));
  const clean = (node: ShopCategoryNode): ShopCategoryNode => ({ id: node.id, name: node.name, slug: node.slug, position: node.position, productCount: node.productCount, children: node.children.map(clean) });
  return { tenantId: String(first.shop_id), items: roots.map(clean) };
}
