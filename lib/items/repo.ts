import { sql, type SQL } from "../../db/sql.js";
import { query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { pageWithTotal } from "../../db/paging.js";
import { fromJson, likeContaining, toIso, toIsoOrNull, toNumber } from "../../db/values.js";
import type { ItemCreateInput, ItemListInput, ItemUpdateInput } from "./schemas.js";
import { eventsCte, itemJson, stockLevelEvents, type Actor } from "../events/outbox.js";
import { suppliedBy, supplierLinksOf, toItemSupplier, type ItemSupplier } from "../inventory/repo.js";
import { newId } from "../../db/ids.js";
import { categorySlugFromName } from "../categories/schemas.js";

export interface Item {
  id: string;
  name: string;
  description: string | null;
  sku: string | null;
  priceCents: number;
  stock: number;
  lowStockThreshold: number;
  lowStock: boolean;
  category: string | null;
  categoryId: string | null;
  published: boolean;
  compareAtPriceCents: number | null;
  imageUrl: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
  deletedAt: string | null;
}

const COLUMNS = sql.raw(
  "i.id, i.name, i.description, i.sku, i.price_cents, i.stock, i.low_stock_threshold, i.category, i.category_id, i.published, i.compare_at_price_cents, i.image_url, i.version, i.created_at, i.updated_at, i.deleted_at",
);

export function toItem(row: Record<string, unknown>): Item {
  const stock = toNumber(row.stock);
  const lowStockThreshold = toNumber(row.low_stock_threshold);
  return {
    id: String(row.id),
    name: String(row.name),
    description: (row.description as string | null) ?? null,
    sku: (row.sku as string | null) ?? null,
    priceCents: toNumber(row.price_cents),
    stock,
    lowStockThreshold,
    lowStock: stock <= lowStockThreshold,
    category: (row.category as string | null) ?? null,
    categoryId: (row.category_id as string | null) ?? null,
    published: row.published === true || row.published === "t",
    compareAtPriceCents: row.compare_at_price_cents === null || row.compare_at_price_cents === undefined ? null : toNumber(row.compare_at_price_cents),
    imageUrl: (row.image_url as string | null) ?? null,
    version: toNumber(row.version),
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
    deletedAt: toIsoOrNull(row.deleted_at),
  };
}

async function pageOf(db: Db, where: SQL, order: SQL, pageNumber: number, limit: number) {
  const { total, rows } = await pageWithTotal(db, sql`SELECT i.* FROM items i WHERE ${where}`, order, pageNumber, limit);
  return { total, items: rows.map(toItem) };
}

/** The items list's filters (alias i), shared with the export. */
export function liveItemFilters(tenantId: string, input: Pick<ItemListInput, "search" | "lowStock" | "category" | "supplier">): SQL[] {
  const filters = [sql`i.tenant_id = ${tenantId}`, sql`i.deleted_at IS NULL`];
  if (input.search) filters.push(sql`(i.name ILIKE ${likeContaining(input.search)} OR i.sku ILIKE ${likeContaining(input.search)})`);
  if (input.lowStock !== undefined) filters.push(input.lowStock ? sql`i.stock <= i.low_stock_threshold` : sql`i.stock > i.low_stock_threshold`);
  if (input.category) filters.push(sql`lower(i.category) = lower(${input.category})`);
  if (input.supplier) filters.push(suppliedBy(tenantId, input.supplier));
  return filters;
}

export function listLiveItems(db: Db, tenantId: string, input: ItemListInput) {
  return pageOf(db, sql.join(liveItemFilters(tenantId, input), sql` AND `), sql`created_at DESC, id DESC`, input.page, input.limit);
}

export function listDeletedItems(db: Db, tenantId: string, pageNumber: number, limit: number) {
  return pageOf(db, sql`i.tenant_id = ${tenantId} AND i.deleted_at IS NOT NULL`, sql`deleted_at DESC, id DESC`, pageNumber, limit);
}

export async function findLiveItem(db: Db, tenantId: string, id: string): Promise<Item | undefined> {
  const rows = await query(db, sql`SELECT ${COLUMNS} FROM items i WHERE i.tenant_id = ${tenantId} AND i.id = ${id} AND i.deleted_at IS NULL`);
  return rows[0] ? toItem(rows[0]) : undefined;
}

/** A live item with its supplier links (GET /api/items/:id), in the same statement. */
export async function findLiveItemWithSuppliers(db: Db, tenantId: string, id: string): Promise<(Item & { suppliers: ItemSupplier[] }) | undefined> {
  const rows = await query(db, sql`SELECT ${COLUMNS}, ${supplierLinksOf(tenantId, "i")} AS suppliers FROM items i WHERE i.tenant_id = ${tenantId} AND i.id = ${id} AND i.deleted_at IS NULL`);
  return rows[0] ? { ...toItem(rows[0]), suppliers: (fromJson<unknown[] | null>(rows[0].suppliers) ?? []).map(toItemSupplier) } : undefined;
}

export async function insertItem(db: Db, tenantId: string, id: string, input: ItemCreateInput, actor: Actor): Promise<Item> {
  const rows = await query(
    db,
    sql`
    WITH ${categoryCtes(tenantId, input, sql`true`)}
    created AS (
      INSERT INTO items AS i (id, tenant_id, name, description, sku, price_cents, stock, low_stock_threshold, category, category_id, published, compare_at_price_cents)
      VALUES (${id}, ${tenantId}, ${input.name}, ${input.description ?? null}, ${input.sku ?? null}, ${input.priceCents}, ${input.stock},
              coalesce(${input.lowStockThreshold ?? null}::int, (SELECT low_stock_threshold_default FROM tenants WHERE id = ${tenantId})),
              (SELECT name FROM cat), (SELECT id FROM cat), ${input.published ?? false}, ${input.compareAtPriceCents ?? null})
      RETURNING ${COLUMNS}
    ),
    ${itemEvents("item.created", tenantId, actor)}
    SELECT * FROM created`,
  );
  return toItem(rows[0]!);
}

/**
 * CTEs ending in `cat` (id, name): the category an item write files the item under — the one named
 * by `categoryId` (tally_fail 'unknown_category' if the tenant has none such), or the one called
 * `category` (case-insensitive), created when there is none. No row: uncategorised. `when`: only
 * create a category if the item write is going ahead.
 */
function categoryCtes(tenantId: string, input: { category?: string | null; categoryId?: string | null }, when: SQL): SQL {
  if (input.categoryId) {
    return sql`cat AS (
      SELECT c.id, c.name FROM categories c WHERE c.tenant_id = ${tenantId} AND c.id = ${input.categoryId}
      UNION ALL
      SELECT NULL::uuid, NULL::text WHERE CASE WHEN EXISTS (SELECT 1 FROM categories c WHERE c.tenant_id = ${tenantId} AND c.id = ${input.categoryId}) THEN false
        ELSE tally_fail('unknown_category', '{}'::jsonb) END
    ),`;
  }
  if (input.category) {
    return sql`cat_found AS (SELECT c.id, c.name FROM categories c WHERE c.tenant_id = ${tenantId} AND lower(c.name) = lower(${input.category}) ORDER BY c.id LIMIT 1),
    cat_new AS (
      INSERT INTO categories AS c (id, tenant_id, name, slug)
      SELECT ${newId()}, ${tenantId}, ${input.category}, ${categorySlugFromName(input.category)} WHERE NOT EXISTS (SELECT 1 FROM cat_found) AND ${when}
      ON CONFLICT (tenant_id, slug) DO UPDATE SET updated_at = c.updated_at
      RETURNING c.id, c.name
    ),
    cat AS (SELECT * FROM cat_found UNION ALL SELECT * FROM cat_new),`;
  }
  return sql`cat AS (SELECT NULL::uuid AS id, NULL::text AS name WHERE false),`;
}

/** CTE `item_events`: one `type` event per row of `from` (an items CTE, by default `changed`). */
function itemEvents(type: string, tenantId: string, actor: Actor, from = "created"): SQL {
  return eventsCte("item_events", tenantId, actor, sql`SELECT ${type}::text AS type, 'item' AS resource_type, c.id AS resource_id, jsonb_build_object('item', ${itemJson("c")}) AS data FROM ${sql.raw(from)} c`);
}

/** Outcome of a guarded write: the row after the write, or why it did not happen. */
/** A blob whose reference was dropped in the same statement; delete it after the response. */
export interface QueuedDeletion {
  id: string;
  url: string;
}

export type Guarded = { item: Item; queued: QueuedDeletion[] } | { missing: true } | { wrongState: true } | { staleVersion: number } | { raced: true; conditional: boolean };

/** CTE `queued`: puts the non-null URLs `urls` selects into the blob deletion queue. */
function queueDeletion(tenantId: string, urls: SQL): SQL {
  return sql`, queued AS (
      INSERT INTO blob_deletions (id, tenant_id, url)
      SELECT gen_random_uuid(), ${tenantId}, u.image_url FROM (${urls}) u WHERE u.image_url IS NOT NULL
      RETURNING id, url)`;
}

const SETTABLE: Record<keyof Omit<ItemUpdateInput, "version" | "category" | "categoryId">, string> = {
  name: "name",
  description: "description",
  sku: "sku",
  priceCents: "price_cents",
  stock: "stock",
  lowStockThreshold: "low_stock_threshold",
  published: "published",
  compareAtPriceCents: "compare_at_price_cents",
};

/**
 * Runs `change` (an UPDATE ... RETURNING over items aliased i, limited to the target row) only if the
 * row is in the expected state, and tells missing from stale in the same round trip.
 */
/** Which image a guarded write leaves behind: none, the one it replaced, or the purged item's. */
type ImageFate = "kept" | "replaced" | "removed";

const QUEUE_FROM: Record<Exclude<ImageFate, "kept">, SQL> = {
  replaced: sql`SELECT t.image_url FROM target t JOIN changed c ON true WHERE t.image_url IS DISTINCT FROM c.image_url`,
  removed: sql`SELECT t.image_url FROM target t WHERE EXISTS (SELECT 1 FROM changed)`,
};

/**
 * `target` is the row as the statement's snapshot saw it; `changed`'s conditions are re-checked by
 * Postgres on the latest version if another write got there first. When the two disagree — target
 * says the write could happen, yet nothing changed — another write landed meanwhile (`raced`).
 * `pinned`: only write the very version `target` saw, so `after` (more CTEs, reading `target` and
 * `changed`, e.g. the stock before a set) reads the exact row that was replaced.
 */
async function guardedWrite(
  db: Db,
  tenantId: string,
  id: string,
  live: boolean,
  expected: number | undefined,
  change: SQL,
  image: ImageFate = "kept",
  after: SQL = sql``,
  pinned = false,
  events: { type: string; actor: Actor } | undefined = undefined,
  /** More CTEs (each followed by a comma) that `change` may read; they may read `target`. */
  prelude: SQL = sql``,
): Promise<Guarded> {
  const state = live ? sql`i.deleted_at IS NULL` : sql`i.deleted_at IS NOT NULL`;
  const rows = await query(
    db,
    sql`
    WITH target AS (
      SELECT i.version, i.image_url, i.stock, ${state} AS in_state FROM items i WHERE i.tenant_id = ${tenantId} AND i.id = ${id}
    ), ${prelude} changed AS (
      ${change} AND i.tenant_id = ${tenantId} AND i.id = ${id} AND ${state}
        AND (${expected ?? null}::int IS NULL OR i.version = ${expected ?? null}::int)
        ${pinned ? sql`AND i.version = (SELECT version FROM target)` : sql``}
      RETURNING ${COLUMNS}
    )
    ${after}
    ${events ? sql`, ${itemEvents(events.type, tenantId, events.actor, "changed")}` : sql``}
    ${image === "kept" ? sql`, queued AS (SELECT NULL::uuid AS id, NULL::text AS url WHERE false)` : queueDeletion(tenantId, QUEUE_FROM[image])}
    SELECT t.version AS current_version, t.in_state, (SELECT json_agg(q) FROM queued q) AS queued, c.*
    FROM (SELECT 1) one LEFT JOIN target t ON true LEFT JOIN changed c ON true`,
  );
  const row = rows[0]!;
  if (row.id !== null && row.id !== undefined) return { item: toItem(row), queued: fromJson<QueuedDeletion[] | null>(row.queued) ?? [] };
  if (row.current_version === null || row.current_version === undefined) return { missing: true };
  if (!row.in_state) return { wrongState: true };
  const current = toNumber(row.current_version);
  if (expected !== undefined && current !== expected) return { staleVersion: current };
  return { raced: true, conditional: expected !== undefined };
}

/**
 * A partial update. A new `stock` is a ledger movement (reason 'set') of the difference from the
 * stock of the version it replaced, in the same statement; the caller makes it conditional on a version.
 */
export function updateLiveItem(db: Db, tenantId: string, userId: string, id: string, input: ItemUpdateInput, expected: number | undefined, actor: Actor) {
  const sets = Object.entries(SETTABLE)
    .filter(([key]) => (input as Record<string, unknown>)[key] !== undefined)
    .map(([key, column]) =>
      key === "stock"
        ? // Setting stock sets the total; the lots keep theirs, so it may not go below them (count a lot instead).
          sql`stock = CASE WHEN ${input.stock}::int >= i.lot_stock THEN ${input.stock}::int
            WHEN tally_fail('below_lot_stock', jsonb_build_object('lotStock', i.lot_stock, 'stock', i.stock)) THEN NULL END`
        : sql`${sql.raw(column)} = ${(input as Record<string, unknown>)[key]}`,
    );
  const recategorised = input.category !== undefined || input.categoryId !== undefined;
  if (recategorised) sets.push(sql`category = (SELECT name FROM cat)`, sql`category_id = (SELECT id FROM cat)`);
  sets.push(sql`version = i.version + 1`, sql`updated_at = now()`);
  const going = sql`EXISTS (SELECT 1 FROM target t WHERE t.in_state AND (${expected ?? null}::int IS NULL OR t.version = ${expected ?? null}::int))`;
  const ledger =
    input.stock === undefined
      ? sql``
      : sql`, moved AS (
      INSERT INTO stock_movements (id, tenant_id, item_id, delta, reason, created_by)
      SELECT gen_random_uuid(), ${tenantId}, c.id, c.stock - t.stock, 'set', ${userId} FROM changed c CROSS JOIN target t WHERE c.stock <> t.stock
      RETURNING 1),
    ${stockLevelEvents("stock_events", tenantId, actor, sql`SELECT c.id, c.name, c.sku, t.stock AS before, c.stock AS after, c.low_stock_threshold AS threshold FROM changed c CROSS JOIN target t`)}`;
  const update = sql`UPDATE items i SET ${sql.join(sets, sql`, `)} WHERE true`;
  return guardedWrite(db, tenantId, id, true, expected, update, "kept", ledger, input.stock !== undefined, { type: "item.updated", actor }, recategorised ? categoryCtes(tenantId, input, going) : sql``);
}

export function softDeleteItem(db: Db, tenantId: string, id: string, expected: number | undefined, actor: Actor) {
  const update = sql`UPDATE items i SET deleted_at = now(), version = i.version + 1, updated_at = now() WHERE true`;
  return guardedWrite(db, tenantId, id, true, expected, update, "kept", sql``, false, { type: "item.deleted", actor });
}

export function restoreItem(db: Db, tenantId: string, id: string, expected: number | undefined, actor: Actor) {
  const update = sql`UPDATE items i SET deleted_at = NULL, version = i.version + 1, updated_at = now() WHERE true`;
  return guardedWrite(db, tenantId, id, false, expected, update, "kept", sql``, false, { type: "item.restored", actor });
}

/** Hard delete, allowed only for a soft-deleted item. */
export function purgeDeletedItem(db: Db, tenantId: string, id: string, expected: number | undefined, actor: Actor) {
  return guardedWrite(db, tenantId, id, false, expected, sql`DELETE FROM items i WHERE true`, "removed", sql``, false, { type: "item.purged", actor });
}

/** Sets (or clears) a live item's image; the image it replaces is queued for deletion. */
export function setItemImage(db: Db, tenantId: string, id: string, url: string | null, actor: Actor) {
  const update = sql`UPDATE items i SET image_url = ${url}, version = i.version + 1, updated_at = now() WHERE true`;
  return guardedWrite(db, tenantId, id, true, undefined, update, "replaced", sql``, false, { type: "item.updated", actor });
}
