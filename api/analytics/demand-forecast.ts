import { ForecastOut, ForecastQuery } from "../../lib/analytics/schemas.js";
import { demandForecast } from "../../lib/analytics/service.js";
import { route, preflight } from "../../lib/http/route.js";

export const GET = route("/api/analytics/demand-forecast", { auth: "staff", output: ForecastOut, errors: ["not_found"], query: ForecastQuery, cache: { ttl: 60, tags: ["analytics"] } }, ({ auth, query }) => demandForecast(auth.tenant, query));

export const OPTIONS = preflight;
