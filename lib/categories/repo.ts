import { sql, type SQL } from "../../db/sql.js";
import { atomic, query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { toIso, toNumber } from "../../db/values.js";
import type { CategoryCreateInput, CategoryUpdateInput } from "./schemas.js";

// Category writes are a batch of two statements (one round trip): the first locks the tenant's row,
// so tree changes of one tenant run one at a time and the cycle check of the second statement (whose
// snapshot is taken after the lock) sees every earlier move; two concurrent moves could otherwise
// each pass the check and together make a loop.

export interface Category {
  id: string;
  name: string;
  slug: string;
  parentId: string | null;
  position: number;
  itemCount: number;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export function toCategory(row: Record<string, unknown>): Category {
  return {
    id: String(row.id),
    name: String(row.name),
    slug: String(row.slug),
    parentId: (row.parent_id as string | null) ?? null,
    position: toNumber(row.position),
    itemCount: toNumber(row.item_count ?? 0),
    version: toNumber(row.version),
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
  };
}

/** Live items directly in category `c` (alias), any publication state: the admin's count. */
const itemCount = (c: string) => sql.raw(`(SELECT count(*) FROM items ci WHERE ci.tenant_id = ${c}.tenant_id AND ci.category_id = ${c}.id AND ci.deleted_at IS NULL)`);

export async function listCategories(db: Db, tenantId: string): Promise<Category[]> {
  const rows = await query(db, sql`SELECT c.*, ${itemCount("c")} AS item_count FROM categories c WHERE c.tenant_id = ${tenantId} ORDER BY c.parent_id NULLS FIRST, c.position, c.name, c.id`);
  return rows.map(toCategory);
}

const lockTenant = (tenantId: string) => sql`SELECT 1 FROM tenants WHERE id = ${tenantId} FOR NO KEY UPDATE`;

/** tally_fail when `parent` (a uuid or null) is not a category of the tenant. */
const parentCheck = (tenantId: string, parentId: string | null | undefined, when: SQL) =>
  parentId ? sql`WHEN ${when} AND NOT EXISTS (SELECT 1 FROM categories p WHERE p.tenant_id = ${tenantId} AND p.id = ${parentId}) THEN tally_fail('unknown_parent', '{}'::jsonb)` : sql``;

const slugCheck = (tenantId: string, slug: string | undefined, self: string) =>
  slug ? sql`WHEN EXISTS (SELECT 1 FROM categories s WHERE s.tenant_id = ${tenantId} AND s.slug = ${slug} AND s.id <> ${self}) THEN tally_fail('slug_taken', '{}'::jsonb)` : sql``;

export async function insertCategory(db: Db, tenantId: string, id: string, input: CategoryCreateInput & { slug: string }): Promise<Category> {
  const results = await atomic(db, [
    lockTenant(tenantId),
    sql`
    WITH created AS (
      INSERT INTO categories (id, tenant_id, name, slug, parent_id, position)
      VALUES (${id}, ${tenantId}, ${input.name}, ${input.slug}, ${input.parentId ?? null}, ${input.position})
      RETURNING *
    )
    SELECT CASE WHEN false THEN NULL ${slugCheck(tenantId, input.slug, id)} ${parentCheck(tenantId, input.parentId, sql`true`)} END AS failed, c.*, 0 AS item_count FROM created c`,
  ]);
  return toCategory(results[1]![0]!);
}

export type CategoryWrite = { category: Category } | { missing: true } | { staleVersion: number };

export async function updateCategory(db: Db, tenantId: string, id: string, input: Omit<CategoryUpdateInput, "version">, expected: number | undefined): Promise<CategoryWrite> {
  const sets: SQL[] = [];
  if (input.name !== undefined) sets.push(sql`name = ${input.name}`);
  if (input.slug !== undefined) sets.push(sql`slug = ${input.slug}`);
  if (input.parentId !== undefined) sets.push(sql`parent_id = ${input.parentId}`);
  if (input.position !== undefined) sets.push(sql`position = ${input.position}`);
  sets.push(sql`version = c.version + 1`, sql`updated_at = now()`);
  const ok = sql`EXISTS (SELECT 1 FROM target WHERE ${expected ?? null}::int IS NULL OR version = ${expected ?? null}::int)`;
  // The new parent may not be the category itself or one of its descendants.
  const cycle = input.parentId
    ? sql`WHEN ${ok} AND EXISTS (
        WITH RECURSIVE up AS (
          SELECT p.id, p.parent_id, 1 AS depth FROM categories p WHERE p.tenant_id = ${tenantId} AND p.id = ${input.parentId}
          UNION ALL SELECT p.id, p.parent_id, up.depth + 1 FROM categories p JOIN up ON p.id = up.parent_id WHERE up.depth < 1000
        ) SELECT 1 FROM up WHERE up.id = ${id}) THEN tally_fail('category_cycle', '{}'::jsonb)`
    : sql``;
  const results = await atomic(db, [
    lockTenant(tenantId),
    sql`
    WITH target AS (SELECT c.version FROM categories c WHERE c.tenant_id = ${tenantId} AND c.id = ${id}),
    changed AS (
      UPDATE categories c SET ${sql.join(sets, sql`, `)}
      WHERE c.tenant_id = ${tenantId} AND c.id = ${id} AND ${ok}
      RETURNING c.*
    ),
    -- Items carry their category's name (the legacy filter and item JSON read it): a rename follows.
    renamed AS (
      UPDATE items i SET category = ch.name, updated_at = now()
      FROM changed ch WHERE i.tenant_id = ${tenantId} AND i.category_id = ch.id AND i.category IS DISTINCT FROM ch.name
      RETURNING 1
    )
    SELECT CASE WHEN false THEN NULL ${slugCheck(tenantId, input.slug, id)} ${parentCheck(tenantId, input.parentId, ok)} ${cycle} END AS failed,
      (SELECT version FROM target) AS current_version, ch.*, ${itemCount("ch")} AS item_count
    FROM (SELECT 1) one LEFT JOIN changed ch ON true`,
  ]);
  const row = results[1]![0]!;
  if (row.id !== null && row.id !== undefined) return { category: toCategory(row) };
  if (row.current_version === null || row.current_version === undefined) return { missing: true };
  return { staleVersion: toNumber(row.current_version) };
}

/** Deletes a category: its children move up to its parent; its items become uncategorised. */
export async function deleteCategory(db: Db, tenantId: string, id: string, expected: number | undefined): Promise<CategoryWrite> {
  const results = await atomic(db, [
    lockTenant(tenantId),
    sql`
    WITH target AS (SELECT c.* FROM categories c WHERE c.tenant_id = ${tenantId} AND c.id = ${id}),
    ok AS (SELECT * FROM target WHERE ${expected ?? null}::int IS NULL OR version = ${expected ?? null}::int),
    children AS (
      UPDATE categories c SET parent_id = (SELECT parent_id FROM ok), version = c.version + 1, updated_at = now()
      WHERE c.tenant_id = ${tenantId} AND c.parent_id = ${id} AND EXISTS (SELECT 1 FROM ok)
      RETURNING 1
    ),
    uncategorised AS (
      UPDATE items i SET category_id = NULL, category = NULL, updated_at = now()
      WHERE i.tenant_id = ${tenantId} AND i.category_id = ${id} AND EXISTS (SELECT 1 FROM ok)
      RETURNING 1
    ),
    removed AS (DELETE FROM categories c WHERE c.tenant_id = ${tenantId} AND c.id IN (SELECT id FROM ok) RETURNING c.*)
    SELECT (SELECT version FROM target) AS current_version, (SELECT count(*) FROM uncategorised) AS item_count, r.*
    FROM (SELECT 1) one LEFT JOIN removed r ON true`,
  ]);
  const row = results[1]![0]!;
  if (row.id !== null && row.id !== undefined) return { category: toCategory({ ...row, version: toNumber(row.version) }) };
  if (row.current_version === null || row.current_version === undefined) return { missing: true };
  return { staleVersion: toNumber(row.current_version) };
}
