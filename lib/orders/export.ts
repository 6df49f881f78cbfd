import { getDb } from "../../db/client.js";
import type { Tenant } from "../auth/session.js";
import { exportResponse, type ExportFormat } from "../http/export.js";
import { keysetPages } from "../http/stream.js";
import type { Order } from "./json.js";
import { filtersOf, sizedOrderPage } from "./list.js";
import type { OrderListInput } from "./schemas.js";

// GET /api/orders/export: the orders GET /api/orders would list with the same filters, newest first,
// in the pages /api/orders/all reads (≤ EXPORT_PAGE_ORDERS orders and ≤ EXPORT_PAGE_BYTES of order
// JSON a page, sized in SQL, so no reply nears Neon's 10 MiB). CSV: one row per order, its lines
// summarised in one cell; JSON Lines: each order as GET /api/orders/:id shows it.

export type OrderExportFilters = Pick<OrderListInput, "status" | "channel" | "priority" | "customerId" | "from" | "to">;

async function page(tenantId: string, input: OrderExportFilters, after: string | null) {
  const { db } = await getDb();
  const { orders, more } = await sizedOrderPage(db, filtersOf(tenantId, input), after);
  return { rows: orders, more, last: orders.at(-1)?.id ?? null };
}

const summary = (o: Order) => o.lines.map((l) => `${l.quantity} × ${l.name}${l.sku ? ` (${l.sku})` : ""}`).join("; ");

export async function exportOrders(tenant: Tenant, input: OrderExportFilters & { format: ExportFormat }, context: { requestId: string; path: string }) {
  const pages = await keysetPages<Order, string>((after) => page(tenant.id, input, after));
  return exportResponse(pages, context, {
    name: "orders",
    format: input.format,
    json: (order) => order,
    columns: [
      { header: "number", value: (o) => o.number },
      { header: "id", value: (o) => o.id },
      { header: "createdAt", value: (o) => o.createdAt },
      { header: "status", value: (o) => o.status },
      { header: "channel", value: (o) => o.channel },
      { header: "priority", value: (o) => o.priority },
      { header: "customerId", value: (o) => o.customerId },
      { header: "customerName", value: (o) => o.customer?.name },
      { header: "customerPhone", value: (o) => o.customer?.phone },
      { header: "customerEmail", value: (o) => o.customer?.email },
      { header: "expectedDeliveryDate", value: (o) => o.expectedDeliveryDate },
      { header: "totalCents", value: (o) => o.totalCents },
      { header: "units", value: (o) => o.units },
      { header: "lineCount", value: (o) => o.lines.length },
      { header: "lines", value: summary },
      { header: "notes", value: (o) => o.notes },
      { header: "updatedAt", value: (o) => o.updatedAt },
      { header: "cancelledAt", value: (o) => o.cancelledAt },
      { header: "completedAt", value: (o) => o.completedAt },
    ],
  });
}
