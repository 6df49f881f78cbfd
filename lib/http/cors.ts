import { config } from "../platform/config.js";

export const ALLOWED_HEADERS = "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, X-Tenant, X-Request-Id, X-Read-Primary-Until, X-Session-ID, X-Order-Token";
export const EXPOSED_HEADERS =
  "ETag, Location, Retry-After, Idempotent-Replayed, Content-Disposition, X-Request-Id, X-Session-ID, X-Cache, Server-Timing, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, X-Read-Primary-Until";

const compiled = new Map<string, RegExp>();

function originPattern(allowed: string): RegExp {
  let regex = compiled.get(allowed);
  if (!regex) {
    // `*` stands for part of one DNS label (or a port), never for a dot: https://*-team.vercel.app
    // must not match https://evil.com/x-team.vercel.app or https://a.b-team.vercel.app.
    const source = allowed.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, "\\$&")).join("[A-Za-z0-9-]+");
    regex = new RegExp(`^${source}$`);
    compiled.set(allowed, regex);
  }
  return regex;
}

export function isAllowedOrigin(origin: string): boolean {
  return config.corsOrigins().some((allowed) => allowed === origin || (allowed.includes("*") && originPattern(allowed).test(origin)));
}

export function corsHeaders(request: Request): Record<string, string> {
  const origin = request.headers.get("origin");
  if (!origin || !isAllowedOrigin(origin)) return { Vary: "Origin" };
  return {
    "Access-Control-Allow-Origin": origin,
    "Access-Control-Expose-Headers": EXPOSED_HEADERS,
    Vary: "Origin",
  };
}

export function preflightHeaders(request: Request, methods: string): Record<string, string> {
  const base = corsHeaders(request);
  if (!base["Access-Control-Allow-Origin"]) return base;
  return {
    ...base,
    "Access-Control-Allow-Methods": methods,
    "Access-Control-Allow-Headers": ALLOWED_HEADERS,
    "Access-Control-Max-Age": "600",
  };
}
