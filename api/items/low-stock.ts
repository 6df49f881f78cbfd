import { route, preflight } from "../../lib/http/route.js";
import { ItemPageOut, LowStockQuery } from "../../lib/items/schemas.js";
import { listLowStockItems } from "../../lib/items/service.js";

// A static segment: it wins over api/items/[id] locally (lib/dev/routes.ts) and on Vercel.
export const GET = route("/api/items/low-stock", { auth: "staff", output: ItemPageOut, query: LowStockQuery, cache: { ttl: 86400, tags: ["items"] } }, ({ auth, query }) => listLowStockItems(auth.tenant, query));

export const OPTIONS = preflight;
