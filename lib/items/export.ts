import { sql } from "../../db/sql.js";
import { query } from "../../db/atomic.js";
import { getDb } from "../../db/client.js";
import { createdKeyset, type CreatedKey } from "../../db/paging.js";
import { toNumber } from "../../db/values.js";
import type { Tenant } from "../auth/session.js";
import { exportResponse, type ExportFormat } from "../http/export.js";
import { keysetPages } from "../http/stream.js";
import { liveItemFilters, toItem, type Item } from "./repo.js";
import type { ItemListInput } from "./schemas.js";

// GET /api/items/export: live items, oldest first, in keyset pages of EXPORT_PAGE_ITEMS (an item row
// is under 1 kB: name 100, description 500, SKU and category 50 characters), with the preferred
// supplier's SKU and unit cost. The first ten CSV columns are the import's, in its order.

export const EXPORT_PAGE_ITEMS = 1000;

export type ExportedItem = Item & { supplierSku: string | null; unitCostCents: number | null };

const keyset = createdKeyset("i", EXPORT_PAGE_ITEMS);

async function page(tenantId: string, input: ExportFilters, after: CreatedKey | null) {
  const { db } = await getDb();
  const filters = liveItemFilters(tenantId, input);
  if (after) filters.push(keyset.after(after));
  const rows = await query(
    db,
    sql`SELECT i.*, ${keyset.key}, l.supplier_sku AS link_sku, l.unit_cost_cents AS link_cost
        FROM items i
        LEFT JOIN LATERAL (
          SELECT l.supplier_sku, l.unit_cost_cents FROM item_suppliers l JOIN suppliers s ON s.id = l.supplier_id AND s.deleted_at IS NULL
          WHERE l.tenant_id = ${tenantId} AND l.item_id = i.id AND l.preferred) l ON true
        WHERE ${sql.join(filters, sql` AND `)}
        ${keyset.orderAndLimit}`,
  );
  return keyset.page(rows, (r): ExportedItem => ({
    ...toItem(r),
    supplierSku: (r.link_sku as string | null) ?? null,
    unitCostCents: r.link_cost === null || r.link_cost === undefined ? null : toNumber(r.link_cost),
  }));
}

export type ExportFilters = Pick<ItemListInput, "search" | "lowStock" | "category" | "supplier">;

export async function exportItems(tenant: Tenant, input: ExportFilters & { format: ExportFormat }, context: { requestId: string; path: string }) {
  const pages = await keysetPages<ExportedItem, CreatedKey>((after) => page(tenant.id, input, after));
  return exportResponse(pages, context, {
    name: "items",
    format: input.format,
    json: (item) => item,
    columns: [
      { header: "name", value: (i) => i.name },
      { header: "sku", value: (i) => i.sku },
      { header: "priceCents", value: (i) => i.priceCents },
      { header: "stock", value: (i) => i.stock },
      { header: "lowStockThreshold", value: (i) => i.lowStockThreshold },
      { header: "category", value: (i) => i.category },
      { header: "description", value: (i) => i.description },
      { header: "published", value: (i) => i.published },
      { header: "supplierSku", value: (i) => i.supplierSku },
      { header: "unitCostCents", value: (i) => i.unitCostCents },
      { header: "id", value: (i) => i.id },
      { header: "categoryId", value: (i) => i.categoryId },
      { header: "compareAtPriceCents", value: (i) => i.compareAtPriceCents },
      { header: "lowStock", value: (i) => i.lowStock },
      { header: "imageUrl", value: (i) => i.imageUrl },
      { header: "version", value: (i) => i.version },
      { header: "createdAt", value: (i) => i.createdAt },
      { header: "updatedAt", value: (i) => i.updatedAt },
    ],
  });
}
