import { sql } from "../../db/sql.js";
import { query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { pageWithTotal } from "../../db/paging.js";
import { likeContaining, toIso, toNumber } from "../../db/values.js";
import type { CustomerInput, CustomerListInput, CustomerUpdateInput } from "./schemas.js";

export interface Customer {
  id: string;
  name: string;
  phone: string | null;
  email: string | null;
  socialHandle: string | null;
  notes: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
}

const COLUMNS = sql.raw("c.id, c.name, c.phone, c.email, c.social_handle, c.notes, c.version, c.created_at, c.updated_at");

/** Also maps the camelCase JSON that order queries build with customerJson(). */
export function toCustomer(row: Record<string, unknown>): Customer {
  return {
    id: String(row.id),
    name: String(row.name),
    phone: (row.phone as string | null) ?? null,
    email: (row.email as string | null) ?? null,
    socialHandle: ((row.social_handle ?? row.socialHandle) as string | null) ?? null,
    notes: (row.notes as string | null) ?? null,
    version: toNumber(row.version),
    createdAt: toIso(row.created_at ?? row.createdAt),
    updatedAt: toIso(row.updated_at ?? row.updatedAt),
  };
}

export async function listCustomers(db: Db, tenantId: string, input: CustomerListInput) {
  const filters = [sql`c.tenant_id = ${tenantId}`];
  if (input.search) {
    const digits = input.search.replace(/\D/g, "");
    const byPhone = digits.length >= 3 ? sql` OR regexp_replace(c.phone, '\\D', '', 'g') LIKE ${likeContaining(digits)}` : sql``;
    filters.push(sql`(c.name ILIKE ${likeContaining(input.search)} OR c.social_handle ILIKE ${likeContaining(input.search)} OR c.email ILIKE ${likeContaining(input.search)}${byPhone})`);
  }
  const matching = sql`SELECT c.* FROM customers c WHERE ${sql.join(filters, sql` AND `)}`;
  const { total, rows } = await pageWithTotal(db, matching, sql`lower(name), id`, input.page, input.limit);
  return { total, items: rows.map(toCustomer) };
}

export async function findCustomer(db: Db, tenantId: string, id: string) {
  const rows = await query(db, sql`SELECT ${COLUMNS} FROM customers c WHERE c.tenant_id = ${tenantId} AND c.id = ${id}`);
  return rows[0] ? toCustomer(rows[0]) : undefined;
}

export async function insertCustomer(db: Db, tenantId: string, id: string, input: CustomerInput) {
  const rows = await query(
    db,
    sql`INSERT INTO customers AS c (id, tenant_id, name, phone, email, social_handle, notes)
        VALUES (${id}, ${tenantId}, ${input.name}, ${input.phone ?? null}, ${input.email ?? null}, ${input.socialHandle ?? null}, ${input.notes ?? null})
        RETURNING ${COLUMNS}`,
  );
  return toCustomer(rows[0]!);
}

const SETTABLE = { name: "name", phone: "phone", email: "email", socialHandle: "social_handle", notes: "notes" } as const;

export type CustomerWrite = { customer: Customer } | { missing: true } | { staleVersion: number };

export async function updateCustomer(db: Db, tenantId: string, id: string, input: CustomerUpdateInput, expected: number | undefined): Promise<CustomerWrite> {
  const sets = Object.entries(SETTABLE)
    .filter(([key]) => (input as Record<string, unknown>)[key] !== undefined)
    .map(([key, column]) => sql`${sql.raw(column)} = ${(input as Record<string, unknown>)[key]}`);
  const rows = await query(
    db,
    sql`
    WITH target AS (SELECT version FROM customers WHERE tenant_id = ${tenantId} AND id = ${id}),
    changed AS (
      UPDATE customers c SET ${sql.join(sets, sql`, `)}, version = c.version + 1, updated_at = now()
      WHERE c.tenant_id = ${tenantId} AND c.id = ${id} AND (${expected ?? null}::int IS NULL OR c.version = ${expected ?? null}::int)
      RETURNING ${COLUMNS}
    )
    SELECT t.version AS current_version, c.* FROM (SELECT 1) one LEFT JOIN target t ON true LEFT JOIN changed c ON true`,
  );
  const row = rows[0]!;
  if (row.id) return { customer: toCustomer(row) };
  if (row.current_version === null || row.current_version === undefined) return { missing: true };
  return { staleVersion: toNumber(row.current_version) };
}
