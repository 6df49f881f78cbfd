import { EXPORT_MEDIA_TYPES } from "../../lib/http/export.js";
import { route, preflight } from "../../lib/http/route.js";
import { exportOrders } from "../../lib/orders/export.js";
import { OrderOut, OrderExportQuery } from "../../lib/orders/schemas.js";

const path = "/api/orders/export";

// Streamed page by page (lib/http/stream.ts), so not in the response cache; see README "Inventory", Exports.
export const GET = route(path, { auth: "admin", query: OrderExportQuery, formats: EXPORT_MEDIA_TYPES, lineOutput: OrderOut }, async ({ auth, query, requestId }) =>
  exportOrders(auth.tenant, query, { requestId, path }),
);

export const OPTIONS = preflight;
