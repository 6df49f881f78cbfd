import { route, preflight } from "../../lib/http/route.js";
import { ExpiringSoonOut, ExpiringSoonQuery } from "../../lib/inventory/schemas.js";
import { expiringSoon } from "../../lib/inventory/lots-service.js";

// Lots expiring within ?days= (1–365, default 30) and those expired but not yet written off, by
// expiry, with quantity and value at cost. A static segment: it wins over api/items/[id].
export const GET = route("/api/items/expiring-soon", { auth: "staff", output: ExpiringSoonOut, query: ExpiringSoonQuery }, ({ auth, query }) => expiringSoon(auth.tenant, query));

export const OPTIONS = preflight;
