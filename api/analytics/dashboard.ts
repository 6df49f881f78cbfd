import { dashboard } from "../../lib/analytics/service.js";
import { route, preflight } from "../../lib/http/route.js";
import { DashboardOut } from "../../lib/analytics/schemas.js";

export const GET = route("/api/analytics/dashboard", { auth: "staff", output: DashboardOut, cache: { ttl: 60, tags: ["analytics", "orders", "items"] } }, ({ auth }) => dashboard(auth.tenant));

export const OPTIONS = preflight;
