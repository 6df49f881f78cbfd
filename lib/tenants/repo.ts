import { sql, type SQL } from "../../db/sql.js";
import { atomic, query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { toIso } from "../../db/values.js";
import { gatedStatement, type IdempotencyRequest } from "../idempotency/keys.js";
import { currencyExponent } from "./settings.js";

export interface TenantSettings {
  id: string;
  slug: string;
  name: string;
  timezone: string;
  currency: string;
  /** Amounts are integers of 10^-currencyExponent of the currency (see settings.ts). */
  currencyExponent: number;
  lowStockThresholdDefault: number;
  orderNumberStart: number;
  version: number;
  createdAt: string;
  updatedAt: string;
}

export function toTenant(row: Record<string, unknown>): TenantSettings {
  const currency = String(row.currency);
  return {
    id: String(row.id),
    slug: String(row.slug),
    name: String(row.name),
    timezone: String(row.timezone),
    currency,
    currencyExponent: currencyExponent(currency),
    lowStockThresholdDefault: Number(row.low_stock_threshold_default),
    orderNumberStart: Number(row.order_number_start),
    version: Number(row.version),
    createdAt: toIso(row.created_at),
    updatedAt: toIso(row.updated_at),
  };
}

/** A JSON row (from row_to_json) as a tenant; timestamps arrive as ISO text. */
export const tenantFromJson = (json: unknown) => toTenant((typeof json === "string" ? JSON.parse(json) : json) as Record<string, unknown>);

export interface NewTenant {
  id: string;
  membershipId: string;
  userId: string;
  name: string;
  /** Slugs to try in order: the first free one is taken. */
  candidates: string[];
  /** Offered when every candidate is taken. */
  alternatives: string[];
  timezone: string;
  currency: string;
  maxOwned: number;
  idempotency?: IdempotencyRequest;
}

const pickFree = (slugs: string[]) =>
  sql`SELECT c.slug FROM jsonb_array_elements_text(${JSON.stringify(slugs)}::jsonb) WITH ORDINALITY AS c(slug, n)
      WHERE NOT EXISTS (SELECT 1 FROM tenants t WHERE t.slug = c.slug) ORDER BY c.n LIMIT 1`;

/**
 * Creates a tenant and its owner membership, all or nothing. Statement 1 locks the creator's user
 * row, so one user's concurrent creations queue; statement 2 — whose snapshot is taken after that
 * lock was granted — counts the tenants the user owns, so the cap is exact. The slug is claimed by
 * the tenants' unique index: of two concurrent creations with one slug, the second fails on it.
 */
export async function insertTenant(db: Db, t: NewTenant) {
  const [, rows] = await atomic(db, [
    sql`SELECT id FROM users WHERE id = ${t.userId} FOR UPDATE`,
    gatedStatement({
      tenantId: t.id,
      idem: t.idempotency,
      resourceId: t.id,
      work: sql`
      chosen AS (${pickFree(t.candidates)}),
      suggestion AS (${pickFree(t.alternatives)}),
      owned AS (
        SELECT count(*) AS n FROM memberships m JOIN tenants x ON x.id = m.tenant_id
        WHERE m.user_id = ${t.userId} AND m.role = 'owner' AND x.deleted_at IS NULL
      ),
      made AS (
        INSERT INTO tenants (id, slug, name, timezone, currency, created_by)
        SELECT ${t.id}, (SELECT slug FROM chosen), ${t.name}, ${t.timezone}, ${t.currency}, ${t.userId} FROM go
        WHERE EXISTS (SELECT 1 FROM chosen) AND (SELECT n FROM owned) < ${t.maxOwned}
        RETURNING *
      ),
      owner AS (
        INSERT INTO memberships (id, tenant_id, user_id, role) SELECT ${t.membershipId}, id, ${t.userId}, 'owner' FROM made RETURNING 1
      )`,
      failures: sql`
        WHEN EXISTS (SELECT 1 FROM go) AND (SELECT n FROM owned) >= ${t.maxOwned} THEN tally_fail('tenant_cap', jsonb_build_object('limit', ${t.maxOwned}::int))
        WHEN EXISTS (SELECT 1 FROM go) AND NOT EXISTS (SELECT 1 FROM chosen) THEN tally_fail('slug_taken', jsonb_build_object('suggestion', (SELECT slug FROM suggestion)))`,
      succeeded: sql`EXISTS (SELECT 1 FROM made) AND EXISTS (SELECT 1 FROM owner)`,
      refusal: sql`'{}'::jsonb`,
      columns: sql`(SELECT row_to_json(m) FROM made m) AS tenant`,
      render: (id: SQL) => sql`SELECT row_to_json(r) FROM tenants r WHERE r.id = ${id}`,
    }),
  ]);
  return rows![0]!;
}

export async function findTenant(db: Db, tenantId: string): Promise<TenantSettings | undefined> {
  const rows = await query(db, sql`SELECT * FROM tenants WHERE id = ${tenantId} AND deleted_at IS NULL`);
  return rows[0] ? toTenant(rows[0]) : undefined;
}

export interface TenantChanges {
  name?: string;
  timezone?: string;
  currency?: string;
  lowStockThresholdDefault?: number;
  orderNumberStart?: number;
}

/**
 * One statement: lock the tenant row (a row locked FOR UPDATE is read at its latest version, so the
 * version check and the order-number rule see concurrent changes), then update it. A new
 * orderNumberStart is written into the order counter, which is only allowed while the counter still
 * holds the previous start (no order has taken a number): checked on the counter row itself, which
 * order creation locks, so an order racing this change either sees the new start or blocks it.
 */
export async function updateTenant(db: Db, tenantId: string, changes: TenantChanges, expected: number | undefined) {
  const versionOk = expected === undefined ? sql`true` : sql`l.version = ${expected}`;
  const start = changes.orderNumberStart;
  const counter =
    start === undefined
      ? sql`counter AS (SELECT 1 AS ok WHERE true)`
      : sql`counter AS (
          INSERT INTO order_counters AS c (tenant_id, last_number)
          SELECT l.id, ${start - 1} FROM locked l
          WHERE ${versionOk} AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.tenant_id = ${tenantId})
          ON CONFLICT (tenant_id) DO UPDATE SET last_number = EXCLUDED.last_number
          WHERE c.last_number = (SELECT order_number_start - 1 FROM locked)
          RETURNING 1 AS ok)`;
  const rows = await query(
    db,
    sql`
    WITH locked AS (SELECT * FROM tenants WHERE id = ${tenantId} AND deleted_at IS NULL FOR UPDATE),
    ${counter},
    updated AS (
      UPDATE tenants t SET
        name = coalesce(${changes.name ?? null}, t.name),
        timezone = coalesce(${changes.timezone ?? null}, t.timezone),
        currency = coalesce(${changes.currency ?? null}, t.currency),
        low_stock_threshold_default = coalesce(${changes.lowStockThresholdDefault ?? null}::int, t.low_stock_threshold_default),
        order_number_start = coalesce(${start ?? null}::int, t.order_number_start),
        version = t.version + 1,
        updated_at = now()
      FROM locked l
      WHERE t.id = l.id AND ${versionOk} AND EXISTS (SELECT 1 FROM counter)
      RETURNING t.*
    )
    SELECT (SELECT row_to_json(u) FROM updated u) AS tenant, (SELECT version FROM locked) AS current_version`,
  );
  const row = rows[0]!;
  return {
    tenant: row.tenant ? tenantFromJson(row.tenant) : undefined,
    currentVersion: row.current_version === null || row.current_version === undefined ? undefined : Number(row.current_version),
  };
}

/** Soft delete: the tenant disappears from every route; its rows stay (restorable for 30 days). */
export async function softDeleteTenant(db: Db, tenantId: string, expected: number | undefined) {
  const versionOk = expected === undefined ? sql`true` : sql`l.version = ${expected}`;
  const rows = await query(
    db,
    sql`
    WITH locked AS (SELECT id, version FROM tenants WHERE id = ${tenantId} AND deleted_at IS NULL FOR UPDATE),
    deleted AS (
      UPDATE tenants t SET deleted_at = now(), version = t.version + 1, updated_at = now()
      FROM locked l WHERE t.id = l.id AND ${versionOk}
      RETURNING t.id, t.slug, t.deleted_at
    )
    SELECT d.id, d.slug, d.deleted_at, (SELECT version FROM locked) AS current_version FROM (SELECT 1) one LEFT JOIN deleted d ON true`,
  );
  const row = rows[0]!;
  return {
    deleted: row.id ? { id: String(row.id), slug: String(row.slug), deletedAt: toIso(row.deleted_at) } : undefined,
    currentVersion: row.current_version === null || row.current_version === undefined ? undefined : Number(row.current_version),
  };
}

export const RESTORE_DAYS = 30;

/** Restores a tenant deleted less than 30 days ago, if `userId` is one of its owners. */
export async function restoreTenant(db: Db, tenantId: string, userId: string): Promise<TenantSettings | undefined> {
  const rows = await query(
    db,
    sql`UPDATE tenants t SET deleted_at = NULL, version = t.version + 1, updated_at = now()
        WHERE t.id = ${tenantId} AND t.deleted_at IS NOT NULL AND t.deleted_at > now() - make_interval(days => ${RESTORE_DAYS})
          AND EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = t.id AND m.user_id = ${userId} AND m.role = 'owner')
        RETURNING t.*`,
  );
  return rows[0] ? toTenant(rows[0]) : undefined;
}

