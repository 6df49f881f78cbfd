import { refreshAnalytics } from "../../lib/analytics/refresh.js";
import { route, preflight } from "../../lib/http/route.js";
import { RefreshOut } from "../../lib/analytics/schemas.js";

// Called by Vercel Cron (vercel.json) with the cron secret.
export const GET = route("/api/cron/refresh-analytics", { auth: "cron", output: RefreshOut }, () => refreshAnalytics());

export const OPTIONS = preflight;
