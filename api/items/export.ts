import { EXPORT_MEDIA_TYPES } from "../../lib/http/export.js";
import { route, preflight } from "../../lib/http/route.js";
import { exportItems } from "../../lib/items/export.js";
import { ItemExportLineOut, ItemExportQuery } from "../../lib/items/schemas.js";

const path = "/api/items/export";

// Streamed page by page (lib/http/stream.ts), so not in the response cache; see README "Inventory", Exports.
export const GET = route(path, { auth: "admin", query: ItemExportQuery, formats: EXPORT_MEDIA_TYPES, lineOutput: ItemExportLineOut }, async ({ auth, query, requestId }) =>
  exportItems(auth.tenant, query, { requestId, path }),
);

export const OPTIONS = preflight;
