import { reply } from "../lib/http/reply.js";
import { route, preflight } from "../lib/http/route.js";
import { checkHealth } from "../lib/health/service.js";
import { HealthDownOut, HealthOut } from "../lib/health/schemas.js";

// No auth and no rate limit: load balancers and uptime checks call this.
export const GET = route("/api/health", { auth: "public", output: HealthOut, errorOutput: HealthDownOut, rateLimit: false }, async ({ requestId }) => {
  const health = await checkHealth();
  if (health.status === "ok") return health;
  const error = health.database.reason
    ? { code: "config_error", message: health.database.reason, requestId }
    : { code: "unavailable", message: "The database is unreachable.", requestId };
  return reply(
    { ...health, error },
    { status: 503, headers: { "Retry-After": "5", "Cache-Control": "no-store" } },
  );
});

export const OPTIONS = preflight;
