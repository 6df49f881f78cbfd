import { ERROR_STATUS, type ErrorCode } from "../http/errors.js";
import type { RouteAuth, RoutePolicy } from "../http/route.js";

type Policy = RoutePolicy<RouteAuth, unknown, unknown, unknown>;

/**
 * Every error code an operation can answer, with its statuses: what its policy implies (the route()
 * kit and the platform answer these for any route declared that way) plus the codes it declares in
 * `errors` (its domain's refusals). The contract tests fail on any error answer outside this set, so
 * a new refusal in a service must be declared on its route.
 */
export function errorCodesOf(method: string, policy: Policy): Map<number, ErrorCode[]> {
  const codes = new Set<ErrorCode>(["internal", "config_error", "unavailable", "bad_request"]);
  // Any write can meet a unique, check or foreign-key violation or a serialization failure: 409.
  if (method !== "GET") codes.add("conflict");
  const limited = policy.rateLimit !== false && policy.auth !== "cron";
  if (policy.auth === "cron") codes.add("unauthorized");
  else if (policy.auth !== "public" || policy.shopper) codes.add("unauthorized").add("forbidden");
  // A rejected token counts toward the per-IP auth-failure limit even where the route has no limit.
  if (limited || (policy.auth !== "public" && policy.auth !== "cron")) codes.add("rate_limited");
  if (policy.params) codes.add("not_found");
  if (policy.body) codes.add("payload_too_large").add("unsupported_media_type").add("unprocessable");
  if (policy.idempotent) codes.add("idempotency_mismatch");
  for (const code of policy.errors ?? []) codes.add(code);
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of [...codes].sort()) {
    for (const status of statusesOf(code)) byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return new Map([...byStatus].sort(([a], [b]) => a - b));
}

/** config_error is 500 (a misconfigured secret) or 503 (no database configured: see toApiError). */
const statusesOf = (code: ErrorCode): number[] => (code === "config_error" ? [500, 503] : [ERROR_STATUS[code]]);
