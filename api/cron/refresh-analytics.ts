import { refreshAnalytics } from "../../lib/analytics/refresh.js";
import { requireCronSecret } from "../../lib/http/cron.js";
import { reply } from "../../lib/http/reply.js";
import { route, preflight } from "../../lib/http/route.js";

// Called by Vercel Cron (vercel.json). "public" to route(): no user token — the cron secret is checked here.
export const GET = route("/api/cron/refresh-analytics", { auth: "public" }, async ({ request }) => {
  requireCronSecret(request);
  return reply(await refreshAnalytics(), { headers: { "Cache-Control": "no-store" } });
});

export const OPTIONS = preflight;
