import { dashboard } from "../../lib/analytics/service.js";
import { route, preflight } from "../../lib/http/route.js";

export const GET = route("/api/analytics/dashboard", { auth: "staff", cache: { ttl: 60, tags: ["analytics", "orders", "items"] } }, ({ auth }) => dashboard(auth.tenant));

export const OPTIONS = preflight;
