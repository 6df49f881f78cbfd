import { EXPORT_MEDIA_TYPES } from "../../lib/http/export.js";
import { route, preflight } from "../../lib/http/route.js";
import { exportMovements } from "../../lib/stock/export.js";
import { MovementExportLineOut, MovementExportQuery } from "../../lib/stock/schemas.js";

const path = "/api/stock-movements/export";

// Streamed page by page (lib/http/stream.ts), so not in the response cache; see README "Inventory", Exports.
export const GET = route(path, { auth: "admin", query: MovementExportQuery, formats: EXPORT_MEDIA_TYPES, lineOutput: MovementExportLineOut }, async ({ auth, query, requestId }) =>
  exportMovements(auth.tenant, query, { requestId, path }),
);

export const OPTIONS = preflight;
