// Imported first by run.ts (ES modules evaluate their imports in order), so every project module
// sees this environment from its first line: dev tokens on, logging off, no stray database URL.
import { randomBytes } from "node:crypto";

export const BENCH_SECRET = randomBytes(32).toString("hex");

process.env.DEV_AUTH_SECRET = BENCH_SECRET;
process.env.LOG_LEVEL = "silent";
// The bench measures warm requests; a driver's run can outlast the default 60 s membership cache,
// whose refresh would add one auth round trip to a random request.
process.env.AUTH_CACHE_TTL_MS ??= "600000";
// The bench sends thousands of requests a minute as one user from one IP: the rate limiter stays in
// the request path (its cost is part of every request) with limits it never reaches.
process.env.RATE_LIMIT_API = "1000000000";
process.env.RATE_LIMIT_PUBLIC = "1000000000";
process.env.RATE_LIMIT_TENANT = "1000000000";
process.env.RATE_LIMIT_STORE = "1000000000";
process.env.RATE_LIMIT_AUTH_FAILURES = "1000000000";
delete process.env.DATABASE_URL;
delete process.env.NEON_DATABASE_URL;
delete process.env.NEON_FETCH_ENDPOINT;

export const QUICK = process.env.BENCH_QUICK === "1" || process.env.BENCH_QUICK === "true";

/** A real Postgres to add node-postgres and neon-http → bridge → Postgres rows, if given. */
export const POSTGRES_URL = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL || undefined;

// @hono/node-server replaces the global Request/Response with its own lighter classes when a server
// starts (the neon bridge starts one too). The API runs on Node's own classes on Vercel and in tests,
// so the bench keeps them: servers are started without the override and restoreFetchGlobals() undoes
// any override that happens anyway.
const nativeRequest = globalThis.Request;
const nativeResponse = globalThis.Response;

export function restoreFetchGlobals(): void {
  if (globalThis.Request !== nativeRequest) Object.defineProperty(globalThis, "Request", { value: nativeRequest });
  if (globalThis.Response !== nativeResponse) Object.defineProperty(globalThis, "Response", { value: nativeResponse });
}
