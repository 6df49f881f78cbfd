import { route, preflight } from "../lib/http/route.js";
import { assertMetricsRequest, scrapeMetrics } from "../lib/metrics/service.js";

// Prometheus scrape endpoint (text format 0.0.4), Bearer METRICS_TOKEN; 404 while unset. Not rate
// limited per IP like public routes (a scraper polls steadily); a wrong token counts as a failed sign-in.
// No output schema: the body is Prometheus text, not JSON (documented as text/plain).
export const GET = route("/api/metrics", { auth: "public", bearerSecret: "metricsToken", rateLimit: false, formats: ["text/plain"], errors: ["unauthorized", "not_found", "rate_limited"] }, async ({ request }) => {
  await assertMetricsRequest(request);
  return scrapeMetrics();
});

export const OPTIONS = preflight;
