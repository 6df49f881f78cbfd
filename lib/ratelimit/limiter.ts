import { ApiError } from "../http/errors.js";
import { config } from "../platform/config.js";
import { log } from "../platform/log.js";
import { getRedis, redisGeneration } from "../platform/redis.js";
import { waitUntil } from "../platform/wait-until.js";
import { memorySlidingWindow, type LimitResult } from "./memory.js";
import { errorFields } from "../platform/log-error.js";
import { recordRateLimitRejection } from "../metrics/recorder.js";

/**
 * - api: authenticated routes, per user (RATE_LIMIT_API, default 300 per window)
 * - public: routes without a token, per IP (RATE_LIMIT_PUBLIC, default 30)
 * - auth: failed authentications, per IP (RATE_LIMIT_AUTH_FAILURES, default 20)
 * - tenant: every authenticated request of one tenant, on top of "api" (RATE_LIMIT_TENANT, default 1200)
 * - store: the public shop routes (catalog, carts, checkout), per IP (RATE_LIMIT_STORE, default 120)
 * The window is RATE_LIMIT_WINDOW_S (default 60 s).
 */
export type LimitPolicy = "api" | "public" | "auth" | "tenant" | "store";

interface Limiter {
  limit(identifier: string): Promise<LimitResult>;
}

// Built once per warm instance (and rebuilt only if the Redis client or the limits change), so the
// limiters' in-instance state — @upstash/ratelimit's cache of blocked identifiers — survives.
type Limiters = Record<LimitPolicy, Limiter>;
const slot = globalThis as typeof globalThis & { __tallyLimiters?: { signature: string; limiters: Promise<Limiters> } };

function limits(): Record<LimitPolicy, number> {
  return { api: config.rateLimitApi(), public: config.rateLimitPublic(), auth: config.rateLimitAuthFailures(), tenant: config.rateLimitTenant(), store: config.rateLimitStore() };
}

async function buildLimiters(tokens: Record<LimitPolicy, number>, windowS: number): Promise<Limiters> {
  const handle = await getRedis();
  const windowMs = windowS * 1000;
  if (!handle) {
    return {
      api: memorySlidingWindow(tokens.api, windowMs),
      public: memorySlidingWindow(tokens.public, windowMs),
      auth: memorySlidingWindow(tokens.auth, windowMs),
      tenant: memorySlidingWindow(tokens.tenant, windowMs),
      store: memorySlidingWindow(tokens.store, windowMs),
    };
  }
  const { Ratelimit } = await import("@upstash/ratelimit");
  const upstash = (p: LimitPolicy): Limiter =>
    new Ratelimit({
      redis: handle.redis,
      limiter: Ratelimit.slidingWindow(tokens[p], `${windowS} s`),
      prefix: `${handle.prefix}:rl:${p}`,
      // The library waits 5 s by default and then lets the request through; we decide instead.
      timeout: config.redisTimeoutMs(),
      analytics: false,
    });
  return { api: upstash("api"), public: upstash("public"), auth: upstash("auth"), tenant: upstash("tenant"), store: upstash("store") };
}

function limiters(): Promise<Limiters> {
  const tokens = limits();
  const windowS = config.rateLimitWindowSeconds();
  const signature = `${redisGeneration()}|${tokens.api}|${tokens.public}|${tokens.auth}|${tokens.tenant}|${tokens.store}|${windowS}`;
  if (slot.__tallyLimiters?.signature !== signature) slot.__tallyLimiters = { signature, limiters: buildLimiters(tokens, windowS) };
  return slot.__tallyLimiters.limiters;
}

export function rateLimitHeaders(result: Pick<LimitResult, "limit" | "remaining" | "reset">): Record<string, string> {
  const seconds = String(Math.max(0, Math.ceil((result.reset - Date.now()) / 1000)));
  return {
    "RateLimit-Limit": String(result.limit),
    "RateLimit-Remaining": String(result.remaining),
    "RateLimit-Reset": seconds,
    "X-RateLimit-Limit": String(result.limit),
    "X-RateLimit-Remaining": String(result.remaining),
    "X-RateLimit-Reset": String(Math.ceil(result.reset / 1000)),
  };
}

/**
 * Counts one request against `policy` for `identifier`. Resolves to the RateLimit headers to send;
 * rejects with 429 `rate_limited` past the limit. When Redis cannot answer within REDIS_TIMEOUT_MS
 * the request passes without headers (RATE_LIMIT_FAIL=open, the default: an outage of the limiter
 * should not become an outage of the API) or is refused with 503 (RATE_LIMIT_FAIL=closed).
 */
export async function limit(policy: LimitPolicy, identifier: string): Promise<Record<string, string>> {
  let result: LimitResult | undefined;
  try {
    result = await (await limiters())[policy].limit(identifier);
    if (result.pending) waitUntil(result.pending, "rate limit sync");
    if (result.reason === "timeout") result = undefined;
  } catch (error) {
    log("warn", "rate limiter unavailable", { policy, ...errorFields(error) });
  }
  if (!result) {
    if (config.rateLimitFail() === "open") return {};
    throw new ApiError("unavailable", "Rate limiting is unavailable; try again shortly.", undefined, { "Retry-After": "5" });
  }
  const headers = rateLimitHeaders(result);
  if (!result.success) {
    recordRateLimitRejection(policy);
    throw new ApiError("rate_limited", "Too many requests; slow down.", undefined, { ...headers, "Retry-After": String(Math.max(1, Number(headers["RateLimit-Reset"]))) });
  }
  return headers;
}

/** The caller's IP as the platform guarantees it (never a client-set header): see client-address.ts. */
export { clientAddress as clientIp } from "../platform/client-address.js";
