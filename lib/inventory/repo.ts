import { sql, type SQL } from "../../db/sql.js";
import { atomic, query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { pageWithTotal } from "../../db/paging.js";
import { fromJson, likeContaining, toIso, toIsoOrNull, toNumber } from "../../db/values.js";
import type { ItemSupplierLinkInput, SupplierCreateInput, SupplierListInput, SupplierUpdateInput } from "./schemas.js";

// Suppliers and item ↔ supplier links. Every statement is scoped by tenant; a soft-deleted supplier
// is invisible (404) everywhere except in the purchase orders that already name it.

export interface Supplier {
  id: string;
  name: string;
  contactName: string | null;
  email: string | null;
  phone: string | null;
  address: string | null;
  notes: string | null;
  leadTimeDays: number | null;
  currency: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
  deletedAt: string | null;
}

const COLUMNS = sql.raw("s.id, s.name, s.contact_name, s.email, s.phone, s.address, s.notes, s.lead_time_days, s.currency, s.version, s.created_at, s.updated_at, s.deleted_at");

const nullableNumber = (value: unknown) => (value === null || value === undefined ? null : toNumber(value));

export function toSupplier(row: Record<string, unknown>): Supplier {
  return {
    id: String(row.id),
    name: String(row.name),
    contactName: (row.contact_name as string | null) ?? null,
    email: (row.email as string | null) ?? null,
    phone: (row.phone as string | null) ?? null,
    address: (row.address as string | null) ?? null,
    notes: (row.notes as string | null) ?? null,
    leadTimeDays: nullableNumber(row.lead_time_days),
    currency: (row.currency as string | null) ?? null,
    version: toNumber(row.version),
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
    deletedAt: toIsoOrNull(row.deleted_at),
  };
}

export async function listSuppliers(db: Db, tenantId: string, input: SupplierListInput) {
  const filters = [sql`s.tenant_id = ${tenantId}`, sql`s.deleted_at IS NULL`];
  if (input.search) filters.push(sql`(s.name ILIKE ${likeContaining(input.search)} OR s.contact_name ILIKE ${likeContaining(input.search)} OR s.email ILIKE ${likeContaining(input.search)})`);
  const { total, rows } = await pageWithTotal(db, sql`SELECT s.* FROM suppliers s WHERE ${sql.join(filters, sql` AND `)}`, sql`lower(name), id`, input.page, input.limit);
  return { total, items: rows.map(toSupplier) };
}

export async function findSupplier(db: Db, tenantId: string, id: string) {
  const rows = await query(db, sql`SELECT ${COLUMNS} FROM suppliers s WHERE s.tenant_id = ${tenantId} AND s.id = ${id} AND s.deleted_at IS NULL`);
  return rows[0] ? toSupplier(rows[0]) : undefined;
}

export async function insertSupplier(db: Db, tenantId: string, id: string, input: SupplierCreateInput) {
  const rows = await query(
    db,
    sql`INSERT INTO suppliers AS s (id, tenant_id, name, contact_name, email, phone, address, notes, lead_time_days, currency)
        VALUES (${id}, ${tenantId}, ${input.name}, ${input.contactName ?? null}, ${input.email ?? null}, ${input.phone ?? null}, ${input.address ?? null},
                ${input.notes ?? null}, ${input.leadTimeDays ?? null}::int, ${input.currency ?? null})
        RETURNING ${COLUMNS}`,
  );
  return toSupplier(rows[0]!);
}

const SETTABLE = {
  name: "name",
  contactName: "contact_name",
  email: "email",
  phone: "phone",
  address: "address",
  notes: "notes",
  leadTimeDays: "lead_time_days",
  currency: "currency",
} as const;

export type SupplierWrite = { supplier: Supplier } | { missing: true } | { staleVersion: number };

/** A partial update or (`remove`) a soft delete of a live supplier, conditional on `expected`. */
export async function writeSupplier(db: Db, tenantId: string, id: string, input: SupplierUpdateInput | "remove", expected: number | undefined): Promise<SupplierWrite> {
  const sets =
    input === "remove"
      ? [sql`deleted_at = now()`]
      : Object.entries(SETTABLE)
          .filter(([key]) => (input as Record<string, unknown>)[key] !== undefined)
          .map(([key, column]) => sql`${sql.raw(column)} = ${(input as Record<string, unknown>)[key]}`);
  const rows = await query(
    db,
    sql`
    WITH target AS (SELECT version FROM suppliers WHERE tenant_id = ${tenantId} AND id = ${id} AND deleted_at IS NULL),
    changed AS (
      UPDATE suppliers s SET ${sql.join(sets, sql`, `)}, version = s.version + 1, updated_at = now()
      WHERE s.tenant_id = ${tenantId} AND s.id = ${id} AND s.deleted_at IS NULL AND (${expected ?? null}::int IS NULL OR s.version = ${expected ?? null}::int)
      RETURNING ${COLUMNS}
    )
    SELECT t.version AS current_version, s.* FROM (SELECT 1) one LEFT JOIN target t ON true LEFT JOIN changed s ON true`,
  );
  const row = rows[0]!;
  if (row.id) return { supplier: toSupplier(row) };
  if (row.current_version === null || row.current_version === undefined) return { missing: true };
  return { staleVersion: toNumber(row.current_version) };
}

export interface ItemSupplier {
  itemId: string;
  supplierId: string;
  supplierName: string;
  supplierSku: string | null;
  unitCostCents: number;
  leadTimeDays: number | null;
  /** The link's lead time, else the supplier's default. */
  effectiveLeadTimeDays: number | null;
  minOrderQuantity: number;
  preferred: boolean;
  createdAt: string;
  updatedAt: string;
}

/** A link row joined with its supplier (aliases l and s) as JSON. */
const linkJson = sql.raw(`json_build_object('item_id', l.item_id, 'supplier_id', l.supplier_id, 'supplier_name', s.name, 'supplier_sku', l.supplier_sku,
  'unit_cost_cents', l.unit_cost_cents, 'lead_time_days', l.lead_time_days, 'supplier_lead_time_days', s.lead_time_days, 'min_order_quantity', l.min_order_quantity,
  'preferred', l.preferred, 'created_at', l.created_at, 'updated_at', l.updated_at)`);

export function toItemSupplier(raw: unknown): ItemSupplier {
  const row = fromJson<Record<string, unknown>>(raw);
  const own = nullableNumber(row.lead_time_days);
  return {
    itemId: String(row.item_id),
    supplierId: String(row.supplier_id),
    supplierName: String(row.supplier_name),
    supplierSku: (row.supplier_sku as string | null) ?? null,
    unitCostCents: toNumber(row.unit_cost_cents),
    leadTimeDays: own,
    effectiveLeadTimeDays: own ?? nullableNumber(row.supplier_lead_time_days),
    minOrderQuantity: toNumber(row.min_order_quantity),
    preferred: row.preferred === true || row.preferred === "t",
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
  };
}

/** The links of a live item to live suppliers (preferred first); undefined when the item is missing. */
export async function listItemSuppliers(db: Db, tenantId: string, itemId: string): Promise<ItemSupplier[] | undefined> {
  const rows = await query(
    db,
    sql`
    WITH item AS (SELECT id FROM items WHERE tenant_id = ${tenantId} AND id = ${itemId} AND deleted_at IS NULL)
    SELECT (SELECT count(*) FROM item) AS found,
      (SELECT json_agg(${linkJson} ORDER BY l.preferred DESC, lower(s.name), s.id)
       FROM item_suppliers l JOIN suppliers s ON s.id = l.supplier_id AND s.deleted_at IS NULL
       WHERE l.tenant_id = ${tenantId} AND l.item_id IN (SELECT id FROM item)) AS links`,
  );
  const row = rows[0]!;
  if (toNumber(row.found) === 0) return undefined;
  return (fromJson<unknown[] | null>(row.links) ?? []).map(toItemSupplier);
}

export type LinkWrite = { link: ItemSupplier } | { missing: "item" | "supplier" };

/**
 * Creates or replaces a link. Making it preferred clears the item's other preferred link first, in
 * the same transaction (one batch): the partial unique index allows one preferred link per item and
 * is checked row by row, so both changes cannot share one statement.
 */
export async function upsertItemSupplier(db: Db, tenantId: string, itemId: string, supplierId: string, input: ItemSupplierLinkInput): Promise<LinkWrite> {
  const parties = sql`
    item AS (SELECT id FROM items WHERE tenant_id = ${tenantId} AND id = ${itemId} AND deleted_at IS NULL),
    supplier AS (SELECT id FROM suppliers WHERE tenant_id = ${tenantId} AND id = ${supplierId} AND deleted_at IS NULL)`;
  const clearPreferred = sql`
    WITH ${parties}
    UPDATE item_suppliers l SET preferred = false, updated_at = now()
    WHERE l.tenant_id = ${tenantId} AND l.item_id = ${itemId} AND l.supplier_id <> ${supplierId} AND l.preferred
      AND EXISTS (SELECT 1 FROM item) AND EXISTS (SELECT 1 FROM supplier)`;
  const upsert = sql`
    WITH ${parties},
    l AS (
      INSERT INTO item_suppliers AS l (tenant_id, item_id, supplier_id, supplier_sku, unit_cost_cents, lead_time_days, min_order_quantity, preferred)
      SELECT ${tenantId}, i.id, s.id, ${input.supplierSku ?? null}, ${input.unitCostCents}::int, ${input.leadTimeDays ?? null}::int, ${input.minOrderQuantity}::int, ${input.preferred}::boolean
      FROM item i CROSS JOIN supplier s
      ON CONFLICT (item_id, supplier_id) DO UPDATE SET supplier_sku = excluded.supplier_sku, unit_cost_cents = excluded.unit_cost_cents,
        lead_time_days = excluded.lead_time_days, min_order_quantity = excluded.min_order_quantity, preferred = excluded.preferred, updated_at = now()
      RETURNING *
    )
    SELECT (SELECT count(*) FROM item) AS item_found, (SELECT count(*) FROM supplier) AS supplier_found,
      (SELECT ${linkJson} FROM l JOIN suppliers s ON s.id = l.supplier_id) AS link`;
  const results = await atomic(db, input.preferred ? [clearPreferred, upsert] : [upsert]);
  const row = results[results.length - 1]![0]!;
  if (toNumber(row.item_found) === 0) return { missing: "item" };
  if (toNumber(row.supplier_found) === 0) return { missing: "supplier" };
  return { link: toItemSupplier(row.link) };
}

/** Deletes a link of a live item; false when there was none. */
export async function deleteItemSupplier(db: Db, tenantId: string, itemId: string, supplierId: string): Promise<boolean> {
  const rows = await query(
    db,
    sql`DELETE FROM item_suppliers l USING items i
        WHERE l.tenant_id = ${tenantId} AND l.item_id = ${itemId} AND l.supplier_id = ${supplierId}
          AND i.id = l.item_id AND i.tenant_id = ${tenantId} AND i.deleted_at IS NULL
        RETURNING 1`,
  );
  return rows.length > 0;
}

/** JSON array of a live item's links to live suppliers (preferred first); `item` is the item's alias. */
export const supplierLinksOf = (tenantId: string, item: string): SQL =>
  sql`(SELECT coalesce(json_agg(${linkJson} ORDER BY l.preferred DESC, lower(s.name), s.id), '[]'::json)
       FROM item_suppliers l JOIN suppliers s ON s.id = l.supplier_id AND s.deleted_at IS NULL
       WHERE l.tenant_id = ${tenantId} AND l.item_id = ${sql.raw(item)}.id)`;

/** Filter for the items list: items linked to a live supplier of the tenant. */
export const suppliedBy = (tenantId: string, supplierId: string): SQL =>
  sql`EXISTS (SELECT 1 FROM item_suppliers l JOIN suppliers s ON s.id = l.supplier_id AND s.deleted_at IS NULL
             WHERE l.tenant_id = ${tenantId} AND l.item_id = i.id AND l.supplier_id = ${supplierId})`;
