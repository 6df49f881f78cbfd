import { ReorderOut, ReorderQuery } from "../../lib/analytics/schemas.js";
import { reorderSuggestions } from "../../lib/analytics/service.js";
import { route, preflight } from "../../lib/http/route.js";

export const GET = route("/api/analytics/reorder-suggestions", { auth: "staff", output: ReorderOut, query: ReorderQuery, cache: { ttl: 60, tags: ["analytics", "items"] } }, ({ auth, query }) => reorderSuggestions(auth.tenant, query));

export const OPTIONS = preflight;
