import { randomUUID } from "node:crypto";
import * as v from "valibot";
import { classifyDbError } from "../../db/errors.js";
import { newRoundTripScope, withRoundTripScope, type RoundTripScope } from "../../db/round-trips.js";
import { withReadRouting } from "../../db/replicas.js";
import { authenticate, authenticateUser, type AuthContext, type UserContext } from "../auth/session.js";
import type { Role } from "../auth/roles.js";
import { responseCache, type CachePolicy, type CacheState, type Rendered } from "../cache/response-cache.js";
import { clientIp, limit, type LimitPolicy } from "../ratelimit/limiter.js";
import { config } from "../platform/config.js";
import { assertCronRequest } from "../auth/cron.js";
import { log } from "../platform/log.js";
import { waitUntil } from "../platform/wait-until.js";
import { readJsonBody } from "./body.js";
import { readPrimaryHeaders, readsFromPrimary } from "./read-routing.js";
import { corsHeaders, preflightHeaders } from "./cors.js";
import { ApiError, toApiError, type ErrorCode } from "./errors.js";
import { compilePattern, matchPath } from "./path.js";
import { matchesIfNoneMatch } from "./preconditions.js";
import { etagFor, isReply } from "./reply.js";
import { idempotencyFrom, principalOf, type IdempotencyRequest } from "../idempotency/keys.js";
import { parseInput, type Schema } from "./validation.js";
import { errorFields } from "../platform/log-error.js";
import { recordRequest } from "../metrics/recorder.js";

type Out<S> = S extends Schema ? v.InferOutput<S> : undefined;

/** Who may call a route: a minimum tenant role, "user" (any signed-in person, no tenant), "public" or "cron". */
export type RouteAuth = Role | "user" | "public" | "cron";

export interface RoutePolicy<A extends RouteAuth, P, Q, B> {
  /** Minimum role; "user" for a signed-in person without a tenant; "public" for routes that take no token; "cron" for Vercel Cron (Bearer CRON_SECRET). */
  auth: A;
  params?: P;
  query?: Q;
  body?: B;
  /** Valibot schema of the success body (OpenAPI response schema). */
  output?: Schema;
  /** Status of the success answer when it is not 200 (201 created, 202 accepted, 204 no content; [200, 201] for find-or-create writes that answer 200 when the resource already existed). OpenAPI only; the contract tests hold every answer to it. */
  status?: 201 | 202 | 204 | readonly [200, 201];
  /**
   * Error codes this route answers besides those its policy implies (auth, params, query, body,
   * Idempotency-Key, database failures: see lib/openapi/errors.ts). OpenAPI only; the contract tests
   * fail on any error answer whose code is not documented for its operation.
   */
  errors?: readonly ErrorCode[];
  /** Other representations of the success answer: a CSV download (Accept: text/csv or ?format=csv), an event stream, raw bytes. */
  formats?: readonly ("text/csv" | "text/event-stream" | "text/plain" | "application/octet-stream" | "application/x-ndjson")[];
  /** Schema of one line of an application/x-ndjson answer (a streamed export's rows; the CSV has the same columns). OpenAPI only. */
  lineOutput?: Schema;
  /** Schema of this route's error answers when they are not the bare error shape (health: its report beside the error). */
  errorOutput?: Schema;
  /** Sends an ETag of the body itself and answers If-None-Match with 304 (versioned outputs do so through `version`). */
  conditional?: true;
  /** Reads the shop session (X-Session-ID, or the session_id cookie) and sends it back. OpenAPI only. */
  shopSession?: true;
  /**
   * A public shop route that also takes a signed-in shopper (the `customer` principal: a Google ID
   * token, optional; a bad one is 401). The service reads it (lib/storefront/shopper-account.ts). OpenAPI only.
   */
  shopper?: true;
  /** A public route that checks a bearer secret of its own (the Prometheus scrape: METRICS_TOKEN). OpenAPI only. */
  bearerSecret?: "metricsToken";
  /** A raw (non-JSON) request body and its accepted media types (image uploads). */
  rawBody?: readonly string[];
  /** Schemas of raw bodies that have one (the import's application/json: rows or `{ url }`). OpenAPI only: the service reads and checks the body. */
  rawBodySchemas?: Readonly<Record<string, Schema>>;
  /** JSON body limit in bytes (default MAX_JSON_BODY_BYTES, 100 kB). */
  maxBodyBytes?: number;
  /**
   * Server-side cache for GET, per tenant (authenticated routes only). Writes to any of `tags`
   * (see invalidate()) make entries stale at once; `ttl` bounds their life in seconds.
   */
  cache?: A extends "public" ? never : CachePolicy;
  /** Rate limit policy: "api" per user for authenticated routes, "public" per IP otherwise; false exempts the route. */
  rateLimit?: LimitPolicy | false;
  /**
   * A second identifier counted against the same policy, beside the caller's (a public link's token:
   * limited per link as well as per IP). Counted in the same turn, so still one Redis round trip.
   */
  limitAlsoBy?: (request: Request) => string | undefined;
  /**
   * The handler starts the rate-limit check itself (`ctx.limit()`), in the same event-loop turn as
   * its own Redis call, so both share one round trip (carts, the shop's cache). route() still
   * counts every request: it starts the check after the handler (or a refused input) if the handler
   * did not, and a refusal (429) wins over the handler's answer.
   */
  deferLimit?: true;
  /**
   * Takes an Idempotency-Key (the only way a route reads that header): the handler gets it as
   * `idempotency`, scoped to this route and the signed-in principal (public routes bind their own).
   */
  idempotent?: true;
  /**
   * A credential other than the Authorization header, for clients that cannot send one (EventSource:
   * a single-use ?token=). Undefined when the request carries none: the header applies then.
   */
  credential?: (request: Request) => Promise<AuthContext | undefined>;
}

export interface RouteContext<A, P, Q, B> {
  request: Request;
  requestId: string;
  params: Out<P>;
  query: Out<Q>;
  body: Out<B>;
  auth: A extends "public" | "cron" ? undefined : A extends "user" ? UserContext : AuthContext;
  /** The request's Idempotency-Key, on routes declared `idempotent`. */
  idempotency: IdempotencyRequest | undefined;
  waitUntil(work: Promise<unknown>, label?: string): void;
  /** Starts (once) and returns the request's rate-limit check; see RoutePolicy.deferLimit. */
  limit(): Promise<void>;
}

export type Handler = ((request: Request) => Promise<Response>) & {
  /** The declaration, for tests that walk every route's schemas (text fields, fuzzing). */
  readonly route: { path: string; policy: RoutePolicy<RouteAuth, unknown, unknown, unknown> };
  /** Set when the route takes Idempotency-Key (the idempotency suite walks these). */
  readonly idempotent?: true;
};

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const SECURITY_HEADERS: Record<string, string> = {
  "X-Content-Type-Options": "nosniff",
  "X-Frame-Options": "DENY",
  "Referrer-Policy": "no-referrer",
  "Strict-Transport-Security": "max-age=63072000; includeSubDomains",
};

/**
 * Declares one method of one route: who may call it, what its path, query and body look like.
 * Everything else — ids, errors, headers, CORS, logging, timing — is done here once.
 */
export function route<A extends RouteAuth, P extends Schema | undefined = undefined, Q extends Schema | undefined = undefined, B extends Schema | undefined = undefined>(
  path: string,
  policy: RoutePolicy<A, P, Q, B>,
  handler: (ctx: RouteContext<A, P, Q, B>) => unknown,
): Handler {
  const pattern = compilePattern(path);
  // The scheduler authenticates with a shared secret and calls rarely: it is not rate limited.
  const limitPolicy = policy.rateLimit ?? (policy.auth === "cron" ? false : policy.auth === "public" ? "public" : "api");
  const declaration = { path, policy: policy as RoutePolicy<RouteAuth, unknown, unknown, unknown> };
  return Object.assign(async (request: Request): Promise<Response> => {
    const started = performance.now();
    const incomingId = request.headers.get("x-request-id");
    const requestId = incomingId && REQUEST_ID.test(incomingId) ? incomingId : randomUUID();
    const scope = newRoundTripScope();
    const timing = { authMs: 0, cacheMs: 0, cache: undefined as CacheState | undefined };
    const limitHeaders: Record<string, string> = {};
    let auth: AuthContext | undefined;
    let user: UserContext | undefined;
    let cron = false;
    let response: Response;
    // Reads that may go to a replica (db/replicas.ts) go to the primary for writes and their authors.
    const readRouting = { primary: readsFromPrimary(request) };
    try {
      response = await withReadRouting(readRouting, () => withRoundTripScope(scope, async () => {
        if (policy.auth === "cron") {
          assertCronRequest(request);
          cron = true;
        } else if (policy.auth === "user") {
          const authStart = performance.now();
          user = await authenticateUser(request).catch((error) => rejectAuthFailure(request, error));
          timing.authMs = performance.now() - authStart;
        } else if (policy.auth !== "public") {
          const authStart = performance.now();
          const byHeader = () => authenticate(request, policy.auth as Role);
          auth = await (policy.credential ? policy.credential(request).then((a) => a ?? byHeader()) : byHeader()).catch((error) => rejectAuthFailure(request, error));
          timing.authMs = performance.now() - authStart;
        }
        // The user is known only now (token checks need no I/O on a warm instance), so the limit is
        // checked here, before input parsing so malformed requests count too — and for cached GETs
        // it rides in the same Redis round trip as the cache lookup (it is sent in this same turn).
        let started: Promise<void> | undefined;
        const startLimit = () => {
          if (!started) {
            started = limitPolicy === false ? Promise.resolve() : limitRequest(limitPolicy, request, auth, user, policy.limitAlsoBy?.(request)).then((h) => void Object.assign(limitHeaders, h));
            // Awaited later (alone or beside the cache lookup); this only keeps an early refusal
            // from counting as an unhandled rejection meanwhile.
            started.catch(() => {});
          }
          return started;
        };
        const gate = policy.deferLimit ? Promise.resolve() : startLimit();
        if (policy.deferLimit) {
          try {
            return await handle();
          } finally {
            await startLimit();
          }
        }
        return handle();
        async function handle(): Promise<Response> {
        const url = new URL(request.url);
        // Vercel also passes dynamic segments as query parameters, and a client's own ?id= wins
        // there; so params come from the pathname only.
        const rawParams = matchPath(pattern, url.pathname);
        if (!rawParams) throw new ApiError("not_found", "No such route.");
        const params = policy.params ? parseInput(policy.params, rawParams, "params") : rawParams;
        const query = policy.query ? parseInput(policy.query, Object.fromEntries(url.searchParams), "query") : undefined;
        const body = policy.body ? parseInput(policy.body, await readJsonBody(request, policy.maxBodyBytes ?? config.maxJsonBodyBytes()), "body") : undefined;
        const idempotency = policy.idempotent
          ? idempotencyFrom(request, `${request.method} ${fillPattern(path, params)}`, body, auth ? principalOf(auth) : user && principalOf(user))
          : undefined;
        const run = () => handler({ request, requestId, params, query, body, auth: auth ?? user, idempotency, waitUntil, limit: startLimit } as RouteContext<A, P, Q, B>);
        // A caller who has just written skips the shared cache: an entry filled from a replica
        // moments before could predate the write (README "Read replicas").
        if (policy.cache && auth && request.method === "GET" && !readRouting.primary) {
          const cacheStart = performance.now();
          let computeMs = 0;
          const compute = async () => {
            const computeStart = performance.now();
            try {
              return await render(await run());
            } finally {
              computeMs = performance.now() - computeStart;
            }
          };
          const served = await responseCache().serve(auth.tenant.id, cacheIdentity(pattern.pattern, params, query, request), policy.cache, gate, compute);
          timing.cache = served.state;
          timing.cacheMs = performance.now() - cacheStart - computeMs;
          const cached = fromRendered(request, served.rendered);
          cached.headers.set("X-Cache", served.state === "hit" ? "HIT" : "MISS");
          return cached;
        }
        await gate;
        return toResponse(request, await run());
        }
      }));
    } catch (error) {
      response = errorResponse(error, requestId, { method: request.method, path: safePath(request) });
    }
    for (const [name, value] of Object.entries(limitHeaders)) if (!response.headers.has(name)) response.headers.set(name, value);
    for (const [name, value] of Object.entries(readPrimaryHeaders(request, response.status))) response.headers.append(name, value);
    recordRequest({ route: path, method: request.method, status: response.status, seconds: (performance.now() - started) / 1000, dbTrips: scope.db, cache: timing.cache });
    return finish(request, response, {
      requestId,
      authenticated: policy.auth !== "public",
      serverTiming: serverTiming(scope, timing, performance.now() - started),
      logFields: {
        method: request.method,
        route: path,
        path: safePath(request),
        status: response.status,
        principal: principalType(auth, user, cron),
        ms: round(performance.now() - started),
        dbTrips: scope.db,
        redisTrips: scope.redis,
        cache: timing.cache,
        tenantId: auth?.tenant.id,
        userId: auth?.apiKeyId ? undefined : (auth?.userId ?? user?.userId),
        apiKeyId: auth?.apiKeyId,
      },
    });
  }, { route: declaration, ...(policy.idempotent ? { idempotent: true as const } : {}) });
}

/** Who the request acted as, for the log line (never who exactly: ids are separate fields). */
function principalType(auth: AuthContext | undefined, user: UserContext | undefined, cron: boolean): "api_key" | "user" | "cron" | "anonymous" {
  if (auth?.apiKeyId) return "api_key";
  if (auth || user) return "user";
  return cron ? "cron" : "anonymous";
}

/** "/api/orders/[id]/cancel" with its parsed params filled in. */
function fillPattern(path: string, params: unknown): string {
  return path.replace(/\[(\w+)\]/g, (_, name: string) => String((params as Record<string, unknown>)[name]));
}

/**
 * The limits a request counts against: per principal (user or API key; per IP on public routes)
 * and, on tenant routes, per tenant. Both calls are issued in the same turn, so the Redis transport
 * sends them (and a cache lookup) as one pipeline: still one Redis round trip. The answer's headers
 * describe whichever limit has less room left.
 */
async function limitRequest(policy: LimitPolicy, request: Request, auth: AuthContext | undefined, user: UserContext | undefined, also: string | undefined): Promise<Record<string, string>> {
  const who = auth ? principalOf(auth) : user ? principalOf(user) : `ip:${clientIp(request)}`;
  const checks = [limit(policy, who)];
  if (also) checks.push(limit(policy, also));
  if (auth && policy === "api") checks.push(limit("tenant", `tenant:${auth.tenant.id}`));
  const answers = await Promise.all(checks);
  return answers.reduce((tightest, h) => (Number(h["RateLimit-Remaining"] ?? Infinity) < Number(tightest["RateLimit-Remaining"] ?? Infinity) ? h : tightest));
}

/** Failed token checks count against the caller's IP; past the limit they get 429 instead of 401. */
async function rejectAuthFailure(request: Request, error: unknown): Promise<never> {
  if (error instanceof ApiError && error.code === "unauthorized") await limit("auth", `ip:${clientIp(request)}`);
  throw error;
}

/** What a cached response is keyed on besides the tenant: the route and its parsed, sorted inputs. */
function cacheIdentity(pattern: string, params: unknown, query: unknown, request: Request): string {
  // Routes that also speak CSV (Accept: text/csv) must never answer one format from the other's entry.
  const representation = /\btext\/csv\b/i.test(request.headers.get("accept") ?? "") ? "csv" : "json";
  return JSON.stringify([pattern, sorted(params), sorted(query), representation]);
}

function sorted(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value ?? null;
  return Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A handler's result as plain data (status, headers, JSON text), the form the cache stores. */
async function render(result: unknown): Promise<Rendered> {
  if (result instanceof Response) return { status: result.status, headers: Object.fromEntries(result.headers), body: await result.text() };
  if (!isReply(result)) return { status: 200, headers: {}, body: JSON.stringify(result ?? null) };
  const headers = { ...result.headers };
  if (result.version !== undefined) headers.ETag = etagFor(result.version);
  return { status: result.status, headers, body: result.body === undefined ? undefined : JSON.stringify(result.body) };
}

/** A rendered answer (a handler's own cached one, too) as a Response: ETag and If-None-Match (304) included. */
export function fromRendered(request: Request, rendered: Rendered): Response {
  const headers = new Headers(rendered.headers);
  const etag = headers.get("etag");
  if (etag && request.method === "GET" && matchesIfNoneMatch(request, etag)) return new Response(null, { status: 304, headers });
  if (rendered.body === undefined) return new Response(null, { status: rendered.status, headers });
  if (!headers.has("content-type")) headers.set("content-type", "application/json");
  return new Response(rendered.body, { status: rendered.status, headers });
}

/** The OPTIONS export of every route file: CORS preflight. */
export async function preflight(request: Request): Promise<Response> {
  return new Response(null, { status: 204, headers: { ...preflightHeaders(request, "GET, POST, PUT, PATCH, DELETE"), ...SECURITY_HEADERS } });
}

/**
 * A handler's result as a Response. Data goes through the same render/fromRendered pair the cache
 * uses, so ETag and If-None-Match behave identically on cached and uncached routes; a Response the
 * handler built (CSV, a served image) passes through untouched.
 */
async function toResponse(request: Request, result: unknown): Promise<Response> {
  return result instanceof Response ? result : fromRendered(request, await render(result));
}

export function errorResponse(error: unknown, requestId: string, context: Record<string, unknown> = {}): Response {
  const known = toApiError(error);
  if (known && !(error instanceof ApiError) && classifyDbError(error)?.kind === "invalid_input") {
    log("warn", "database refused a value that validation let through", { requestId, ...context, ...errorFields(error) });
  }
  if (!known) {
    log("error", "unhandled error", { requestId, ...context, ...errorFields(error) });
  }
  const apiError = known ?? new ApiError("internal", "Something went wrong on our side.");
  const body = { error: { code: apiError.code, message: apiError.message, requestId, ...(apiError.details ? { details: apiError.details } : {}) } };
  return Response.json(body, { status: apiError.status, headers: apiError.headers });
}

function finish(request: Request, response: Response, meta: { requestId: string; authenticated: boolean; serverTiming: string; logFields: Record<string, unknown> }): Response {
  const headers = new Headers(response.headers);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) headers.set(name, value);
  for (const [name, value] of Object.entries(corsHeaders(request))) headers.set(name, value);
  headers.set("X-Request-Id", meta.requestId);
  headers.set("Server-Timing", meta.serverTiming);
  if (meta.authenticated && !headers.has("Cache-Control")) headers.set("Cache-Control", "private, no-store");
  const status = response.status;
  log(status >= 500 ? "error" : "info", "request", { requestId: meta.requestId, ...meta.logFields });
  return new Response(response.body, { status, statusText: response.statusText, headers });
}

function serverTiming(scope: RoundTripScope, timing: { authMs: number; cacheMs: number; cache?: CacheState }, totalMs: number): string {
  const entries = [`db;dur=${round(scope.dbMs)};desc="trips=${scope.db}"`, `auth;dur=${round(timing.authMs)}`, `total;dur=${round(totalMs)}`];
  entries.push(`redis;dur=${round(scope.redisMs)};desc="trips=${scope.redis}"`);
  if (timing.cache) entries.push(`cache;dur=${round(timing.cacheMs)};desc="${timing.cache}"`);
  return entries.join(", ");
}

function safePath(request: Request): string {
  try {
    return new URL(request.url).pathname;
  } catch {
    return "?";
  }
}

const round = (ms: number) => Math.round(ms * 10) / 10;
