import { SalesOut, SalesQuery } from "../../lib/analytics/schemas.js";
import { sales } from "../../lib/analytics/service.js";
import { csvResponse, wantsCsv } from "../../lib/http/csv.js";
import { route, preflight } from "../../lib/http/route.js";

export const GET = route("/api/analytics/sales", { auth: "staff", output: SalesOut, formats: ["text/csv"], query: SalesQuery, cache: { ttl: 60, tags: ["analytics"] } }, async ({ auth, query, request }) => {
  const report = await sales(auth.tenant, query);
  if (!wantsCsv(request, query.format)) return report;
  return csvResponse(
    `sales-${report.from}-${report.to}-${report.groupBy}${report.channel ? `-${report.channel}` : ""}.csv`,
    ["period", "orders", "units", "revenue_cents", "average_order_value_cents"],
    report.buckets.map((b) => [b.period, b.orders, b.units, b.revenueCents, b.averageOrderValueCents]),
  );
});

export const OPTIONS = preflight;
