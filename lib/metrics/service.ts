import { createHash, timingSafeEqual } from "node:crypto";
import { getDb } from "../../db/client.js";
import { ApiError } from "../http/errors.js";
import { config } from "../platform/config.js";
import { errorFields } from "../platform/log-error.js";
import { log } from "../platform/log.js";
import { getRedis } from "../platform/redis.js";
import { limit, clientIp } from "../ratelimit/limiter.js";
import { CONTENT_TYPE, renderMetrics } from "./exposition.js";
import { metricsKey, pendingCounts } from "./recorder.js";
import { readGauges, type Gauges } from "./repo.js";

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest();

/**
 * GET /api/metrics is for the scraper holding METRICS_TOKEN. Unset, the route does not exist (404,
 * in every environment: metrics are opt-in). Both sides are hashed before timingSafeEqual, so the
 * comparison takes the same time whatever is presented, whatever its length. A wrong token counts
 * against the caller's IP like a failed sign-in (429 past RATE_LIMIT_AUTH_FAILURES).
 */
export async function assertMetricsRequest(request: Request): Promise<void> {
  const token = config.metricsToken();
  if (!token) throw new ApiError("not_found", "No such route.");
  const presented = /^Bearer (.+)$/.exec(request.headers.get("authorization") ?? "")?.[1] ?? "";
  if (!timingSafeEqual(digest(presented), digest(token))) {
    await limit("auth", `ip:${clientIp(request)}`);
    throw new ApiError("unauthorized", "A valid metrics token is required.", undefined, { "WWW-Authenticate": "Bearer" });
  }
}

/** The counters (Redis's totals plus this instance's unshipped counts) and the gauges, read side by side. */
export async function scrapeMetrics(): Promise<Response> {
  const [counters, gauges] = await Promise.all([readCounters(), readGaugesSafely()]);
  const body = await renderMetrics({ counts: counters.counts, redisUp: counters.redisUp, gauges });
  return new Response(body, { status: 200, headers: { "content-type": CONTENT_TYPE, "cache-control": "no-store" } });
}

async function readCounters(): Promise<{ counts: Map<string, number>; redisUp: boolean | undefined }> {
  const handle = await getRedis();
  let stored: Record<string, unknown> | null = null;
  let redisUp: boolean | undefined;
  if (handle) {
    try {
      // The pipeline carrying this read also ships this instance's pending counts, ahead of it.
      stored = await handle.redis.hgetall<Record<string, unknown>>(metricsKey(handle.prefix));
      redisUp = true;
    } catch (error) {
      log("warn", "metrics: Redis unavailable, serving this instance's counts only", errorFields(error));
      redisUp = false;
    }
  }
  // Read after the Redis answer: what is pending now was not in what Redis returned.
  const counts = new Map<string, number>();
  for (const [field, value] of Object.entries(stored ?? {})) counts.set(field, Number(value));
  for (const [field, value] of pendingCounts()) counts.set(field, (counts.get(field) ?? 0) + value);
  return { counts, redisUp };
}

async function readGaugesSafely(): Promise<Gauges | undefined> {
  try {
    const { db } = await getDb();
    return await readGauges(db);
  } catch (error) {
    log("warn", "metrics: database unavailable, gauges left out", errorFields(error));
    return undefined;
  }
}
