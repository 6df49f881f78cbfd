import { sql } from "../../db/sql.js";
import { query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { fromJson, toIso, toNumber } from "../../db/values.js";
import { gatedStatement, type IdempotencyRequest } from "../idempotency/keys.js";
import { toItem } from "../items/repo.js";
import { stockLevelEvents, type Actor } from "../events/outbox.js";

export interface Movement {
  id: string;
  itemId: string;
  delta: number;
  reason: string;
  orderId: string | null;
  note: string | null;
  createdBy: string | null;
  createdAt: string;
}

export function toMovement(row: Record<string, unknown>): Movement {
  return {
    id: String(row.id),
    itemId: String(row.item_id),
    delta: toNumber(row.delta),
    reason: String(row.reason),
    orderId: (row.order_id as string | null) ?? null,
    note: (row.note as string | null) ?? null,
    createdBy: (row.created_by as string | null) ?? null,
    createdAt: toIso(row.created_at),
  };
}

const ITEM = "i.id, i.name, i.description, i.sku, i.price_cents, i.stock, i.low_stock_threshold, i.category, i.image_url, i.version, i.created_at, i.updated_at, i.deleted_at";

/**
 * A manual stock change and its ledger row in one statement; stock never goes below zero (the
 * UPDATE's own condition, which Postgres re-checks on the latest row version, and the CHECK
 * constraint as the backstop). The refusal reports the stock as the row lock found it. A refusal
 * (unknown item, not enough stock) raises, carrying the current stock (null: no such live item).
 */
export async function adjustStock(db: Db, tenantId: string, userId: string, itemId: string, movementId: string, delta: number, reason: string, idem: IdempotencyRequest | undefined, actor: Actor) {
  const rows = await query(
    db,
    gatedStatement({
      tenantId,
      idem,
      resourceId: movementId,
      work: sql`
    locked AS (
      SELECT i.id, i.stock, i.lot_stock FROM items i
      WHERE i.tenant_id = ${tenantId} AND i.id = ${itemId} AND i.deleted_at IS NULL AND EXISTS (SELECT 1 FROM go)
      FOR UPDATE
    ),
    -- Adjustments move unlotted units only (lots move through receipts, orders, counts with lotId
    -- and the expiry write-off): a decrease may not take stock below what sits in lots.
    adjusted AS (
      UPDATE items i SET stock = i.stock + ${delta}::int, version = i.version + 1, updated_at = now()
      WHERE i.id IN (SELECT id FROM locked) AND i.stock - i.lot_stock + ${delta}::int >= 0
      RETURNING ${sql.raw(ITEM)}
    ),
    moved AS (
      INSERT INTO stock_movements (id, tenant_id, item_id, delta, reason, note, created_by)
      SELECT ${movementId}, ${tenantId}, a.id, ${delta}::int, 'adjustment', ${reason}, ${userId} FROM adjusted a
      RETURNING *
    ),
    ${stockLevelEvents("stock_events", tenantId, actor, sql`SELECT id, name, sku, stock - ${delta}::int AS before, stock AS after, low_stock_threshold AS threshold FROM adjusted`)}`,
      succeeded: sql`EXISTS (SELECT 1 FROM moved)`,
      refusal: sql`jsonb_build_object('stock', (SELECT stock FROM locked), 'unlotted', (SELECT stock - lot_stock FROM locked))`,
      columns: sql`(SELECT row_to_json(a) FROM adjusted a) AS item, (SELECT row_to_json(m) FROM moved m) AS movement`,
      render: (id) => sql`SELECT json_build_object('item', row_to_json(i), 'movement', row_to_json(m)) FROM stock_movements m JOIN items i ON i.id = m.item_id WHERE m.tenant_id = ${tenantId} AND m.id = ${id}`,
    }),
  );
  const row = rows[0]!;
  const item = fromJson<Record<string, unknown> | null>(row.item);
  const movement = fromJson<Record<string, unknown> | null>(row.movement);
  const replayed = fromJson<{ item: Record<string, unknown>; movement: Record<string, unknown> } | null>(row.replayed);
  return {
    row,
    item: item ? toItem(item) : undefined,
    movement: movement ? toMovement(movement) : undefined,
    replayed: replayed ? { item: toItem(replayed.item), movement: toMovement(replayed.movement) } : undefined,
  };
}

export async function findAdjustment(db: Db, tenantId: string, movementId: string) {
  const rows = await query(
    db,
    sql`SELECT row_to_json(i) AS item, row_to_json(m) AS movement
        FROM stock_movements m JOIN items i ON i.id = m.item_id
        WHERE m.tenant_id = ${tenantId} AND m.id = ${movementId}`,
  );
  const row = rows[0];
  if (!row) return undefined;
  return { item: toItem(fromJson(row.item)), movement: toMovement(fromJson(row.movement)) };
}

/** The ledger of one item, newest first; the item must exist (deleted ones too: history stays). */
export async function listMovements(db: Db, tenantId: string, itemId: string, page: number, limit: number) {
  const rows = await query(
    db,
    sql`
    WITH item AS (SELECT id FROM items WHERE tenant_id = ${tenantId} AND id = ${itemId}),
    matching AS (SELECT m.* FROM stock_movements m WHERE m.tenant_id = ${tenantId} AND m.item_id IN (SELECT id FROM item))
    SELECT (SELECT count(*) FROM item) AS found, t.total, m.*
    FROM (SELECT count(*) AS total FROM matching) t
    LEFT JOIN LATERAL (SELECT * FROM matching ORDER BY created_at DESC, id DESC LIMIT ${limit} OFFSET ${(page - 1) * limit}) m ON true`,
  );
  const first = rows[0]!;
  return { found: toNumber(first.found) > 0, total: toNumber(first.total), items: rows.filter((r) => r.id !== null).map(toMovement) };
}
