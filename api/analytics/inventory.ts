import { InventoryOut, InventoryQuery } from "../../lib/analytics/schemas.js";
import { inventory } from "../../lib/analytics/service.js";
import { csvResponse, wantsCsv } from "../../lib/http/csv.js";
import { route, preflight } from "../../lib/http/route.js";

export const GET = route("/api/analytics/inventory", { auth: "staff", output: InventoryOut, formats: ["text/csv"], query: InventoryQuery, cache: { ttl: 60, tags: ["analytics", "items"] } }, async ({ auth, query, request }) => {
  const report = await inventory(auth.tenant, query);
  if (!wantsCsv(request, query.format)) return report;
  return csvResponse(
    `inventory-${report.days}d.csv`,
    ["item_id", "name", "sku", "stock", "price_cents", "stock_value_cents", "low_stock", "units_sold", "revenue_cents", "average_daily_units", "turnover", "days_of_cover"],
    report.items.map((i) => [i.itemId, i.name, i.sku, i.stock, i.priceCents, i.stockValueCents, i.lowStock, i.unitsSold, i.revenueCents, i.averageDailyUnits, i.turnover, i.daysOfCover]),
  );
});

export const OPTIONS = preflight;
