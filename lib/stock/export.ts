import * as v from "valibot";
import { sql } from "../../db/sql.js";
import { query } from "../../db/atomic.js";
import { getDb } from "../../db/client.js";
import { createdKeyset, type CreatedKey } from "../../db/paging.js";
import { toIso, toNumber } from "../../db/values.js";
import type { Tenant } from "../auth/session.js";
import { exportResponse } from "../http/export.js";
import { keysetPages } from "../http/stream.js";
import { dayEndIn, dayStartIn } from "../tenants/zone.js";
import type { MovementExportLineOut, MovementExportQuery } from "./schemas.js";

// GET /api/stock-movements/export: the tenant's stock ledger, oldest first, in keyset pages on
// (created_at, id) — the stock_movements_tenant_created_idx index, so a page costs the same at any
// depth. A ledger row is small (the note is at most 200 characters): EXPORT_PAGE_MOVEMENTS a page.

export const EXPORT_PAGE_MOVEMENTS = 2000;

type Line = v.InferOutput<typeof MovementExportLineOut>;

const keyset = createdKeyset("m", EXPORT_PAGE_MOVEMENTS);

async function page(tenantId: string, input: v.InferOutput<typeof MovementExportQuery>, after: CreatedKey | null) {
  const { db } = await getDb();
  const filters = [sql`m.tenant_id = ${tenantId}`];
  if (input.itemId) filters.push(sql`m.item_id = ${input.itemId}`);
  if (input.reason) filters.push(sql`m.reason IN (${sql.join(input.reason.map((r) => sql`${r}`), sql`, `)})`);
  // Days are the tenant's calendar days (its timezone), both ends inclusive, as the order list's.
  if (input.from) filters.push(sql`m.created_at >= ${dayStartIn(tenantId, input.from)}`);
  if (input.to) filters.push(sql`m.created_at < ${dayEndIn(tenantId, input.to)}`);
  if (after) filters.push(keyset.after(after));
  const rows = await query(
    db,
    sql`SELECT m.id, m.created_at, ${keyset.key}, m.item_id, i.name AS item_name, i.sku, m.delta, m.reason, m.order_id, m.purchase_order_id, m.note, m.created_by
        FROM stock_movements m JOIN items i ON i.id = m.item_id
        WHERE ${sql.join(filters, sql` AND `)}
        ${keyset.orderAndLimit}`,
  );
  return keyset.page(rows, (r): Line => ({
    id: String(r.id),
    createdAt: toIso(r.created_at),
    itemId: String(r.item_id),
    itemName: String(r.item_name),
    sku: (r.sku as string | null) ?? null,
    delta: toNumber(r.delta),
    reason: r.reason as Line["reason"],
    orderId: (r.order_id as string | null) ?? null,
    purchaseOrderId: (r.purchase_order_id as string | null) ?? null,
    note: (r.note as string | null) ?? null,
    createdBy: (r.created_by as string | null) ?? null,
  }));
}

const COLUMNS: (keyof Line)[] = ["createdAt", "id", "itemId", "itemName", "sku", "delta", "reason", "orderId", "purchaseOrderId", "note", "createdBy"];

export async function exportMovements(tenant: Tenant, input: v.InferOutput<typeof MovementExportQuery>, context: { requestId: string; path: string }) {
  const pages = await keysetPages<Line, CreatedKey>((after) => page(tenant.id, input, after));
  return exportResponse(pages, context, {
    name: "stock-movements",
    format: input.format,
    json: (line) => line,
    columns: COLUMNS.map((c) => ({ header: c, value: (line: Line) => line[c] })),
  });
}
