// Configuration read from the environment. Read per call (cheap) so tests and the dev server can
// change the environment without module reloads.
export function isProduction(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.NODE_ENV === "production" || env.VERCEL_ENV === "production";
}

/**
 * Previews share production's Upstash database (the integrations give them no Redis of their own),
 * so keys are namespaced by environment, and previews by git branch — the same unit the Vercel ↔ Neon
 * integration branches the database by — or, without git, by deployment. A preview then never reads
 * production's cache nor spends its rate limits. REDIS_KEY_PREFIX overrides all of this.
 */
export function defaultRedisKeyPrefix(env: NodeJS.ProcessEnv): string {
  const environment = env.VERCEL_ENV || (env.NODE_ENV === "production" ? "production" : env.NODE_ENV || "development");
  if (environment === "production") return "tally:production";
  const scope = env.VERCEL_GIT_COMMIT_REF || env.VERCEL_DEPLOYMENT_ID || env.VERCEL_URL;
  // One key segment: no ':' (our separator) and bounded length; distinct refs stay distinct via a hash.
  return scope ? `tally:${label(environment)}:${label(scope)}` : `tally:${label(environment)}`;
}

function label(value: string): string {
  const clean = value.replace(/[^A-Za-z0-9._/-]/g, "-").slice(0, 48);
  return clean === value ? clean : `${clean}~${fnv1a(value)}`;
}

function fnv1a(value: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) hash = Math.imul(hash ^ value.charCodeAt(i), 0x01000193) >>> 0;
  return hash.toString(36);
}

function int(value: string | undefined, fallback: number): number {
  const parsed = Number(value);
  return value && Number.isFinite(parsed) && parsed >= 0 ? parsed : fallback;
}

function list(value: string | undefined): string[] {
  return (value ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}

export const config = {
  devAuthSecret: () => process.env.DEV_AUTH_SECRET || undefined,
  googleClientIds: () => list(process.env.GOOGLE_CLIENT_ID),
  googleJwksUrl: () => process.env.GOOGLE_JWKS_URL || "https://www.googleapis.com/oauth2/v3/certs",
  /** Allowed browser origins; `*` matches within one DNS label, e.g. https://*-myteam.vercel.app. */
  corsOrigins: () => (process.env.CORS_ORIGINS !== undefined ? list(process.env.CORS_ORIGINS) : isProduction() ? [] : ["http://localhost:*", "http://127.0.0.1:*"]),
  maxJsonBodyBytes: () => int(process.env.MAX_JSON_BODY_BYTES, 100_000),
  authCacheTtlMs: () => int(process.env.AUTH_CACHE_TTL_MS, 60_000),
  /** Per-instance API key cache; capped at 10 s (how long other instances may accept a revoked key). */
  apiKeyCacheTtlMs: () => int(process.env.API_KEY_CACHE_TTL_MS, 10_000),
  /** Tenants a user may own (POST /api/tenants past it: 409). */
  maxOwnedTenants: () => int(process.env.MAX_OWNED_TENANTS, 5),
  /** Clock skew accepted on exp/nbf/iat. */
  clockToleranceSeconds: () => int(process.env.AUTH_CLOCK_TOLERANCE_S, 30),
  /** Deadline for one Redis round trip; past it the request is served from Postgres. */
  redisTimeoutMs: () => int(process.env.REDIS_TIMEOUT_MS, 300),
  /** Longest a cached response is served after the lookup that built it: the bound on staleness when a version bump is lost. */
  cacheMaxStaleSeconds: () => Math.max(1, int(process.env.CACHE_MAX_STALE_S, 60)),
  redisKeyPrefix: () => process.env.REDIS_KEY_PREFIX || defaultRedisKeyPrefix(process.env),
  /** Requests per window per user on authenticated routes. */
  rateLimitApi: () => int(process.env.RATE_LIMIT_API, 300),
  /** Requests per window per tenant (all its users and keys together), on top of the per-principal limit. */
  rateLimitTenant: () => int(process.env.RATE_LIMIT_TENANT, 1200),
  /** Requests per window per IP on public routes. */
  rateLimitPublic: () => int(process.env.RATE_LIMIT_PUBLIC, 30),
  /** Requests per window per IP on the public shop routes (/api/store/…): browsing and carts need more than other public routes. */
  rateLimitStore: () => int(process.env.RATE_LIMIT_STORE, 120),
  /** Storefront catalog answers: how long a CDN may serve them (s-maxage) and serve them stale while it refetches. */
  storeCdnMaxAgeSeconds: () => Math.max(0, int(process.env.STORE_CDN_MAX_AGE_S, 60)),
  storeCdnStaleSeconds: () => Math.max(0, int(process.env.STORE_CDN_STALE_S, 300)),
  /** How long a pay-later storefront order holds its stock. */
  storeReservationMinutes: () => Math.max(1, int(process.env.STORE_RESERVATION_MINUTES, 15)),
  /** Failed authentications (401) per window per IP before further attempts get 429. */
  rateLimitAuthFailures: () => int(process.env.RATE_LIMIT_AUTH_FAILURES, 20),
  rateLimitWindowSeconds: () => Math.max(1, int(process.env.RATE_LIMIT_WINDOW_S, 60)),
  /** What to do when the limiter cannot reach Redis: "open" lets requests through, "closed" answers 503. */
  rateLimitFail: (): "open" | "closed" => (process.env.RATE_LIMIT_FAIL === "closed" ? "closed" : "open"),
  /** Lifetime of a feedback link. */
  feedbackTokenTtlDays: () => int(process.env.FEEDBACK_TOKEN_TTL_DAYS, 14) || 14,
  /** Page customers open to leave feedback; the token is appended as ?token=. Unset: no url in the answer. */
  feedbackUrlBase: () => process.env.FEEDBACK_URL_BASE || undefined,
  /** The customer's order-tracking page; a tracking link's `url` is `<base>?token=…`. */
  trackingUrlBase: () => process.env.TRACKING_URL_BASE || undefined,
  /** Vercel sends it as `Authorization: Bearer <CRON_SECRET>` to cron paths. */
  cronSecret: () => process.env.CRON_SECRET || undefined,
  /** Bearer token of GET /api/metrics; unset: the route answers 404. */
  metricsToken: () => process.env.METRICS_TOKEN || undefined,
  /** The analytics watermark stays at least this far behind now() (a belt for sessions we cannot see). */
  analyticsMarginSeconds: () => int(process.env.ANALYTICS_WATERMARK_MARGIN_S, 5),
  /** Events older than this are deleted by the events-retention cron (the audit trail's horizon). */
  eventsRetentionDays: () => Math.max(1, int(process.env.EVENTS_RETENTION_DAYS, 90)),
  logLevel: () => process.env.LOG_LEVEL || (isProduction() ? "info" : "info"),
};
