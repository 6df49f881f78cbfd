import { DatabaseNotConfigured } from "../../db/client.js";
import { classifyDbError, type DbFailure } from "../../db/errors.js";
import { log } from "../platform/log.js";

// The closed set of error codes and their statuses. Every error response in the API uses one of these.
export const ERROR_STATUS = {
  bad_request: 400,
  unauthorized: 401,
  payment_failed: 402,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  not_acceptable: 406,
  conflict: 409,
  slug_taken: 409,
  insufficient_stock: 409,
  invalid_transition: 409,
  cart_changed: 409,
  reservation_expired: 409,
  gone: 410,
  precondition_failed: 412,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unprocessable: 422,
  idempotency_mismatch: 422,
  precondition_required: 428,
  rate_limited: 429,
  internal: 500,
  config_error: 500,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorDetail {
  path?: string;
  message: string;
  [key: string]: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: ErrorDetail[],
    readonly headers?: Record<string, string>,
    /** Only where one code needs another status (a missing database is config_error, but 503). */
    status?: number,
  ) {
    super(message);
    this.status = status ?? ERROR_STATUS[code];
  }
}

export const notFound = (what: string) => new ApiError("not_found", `${what} not found`);
export const staleVersion = (what: string, current: number) =>
  new ApiError("precondition_failed", `The ${what} has changed (current version ${current}); reload and retry.`, [{ path: "version", message: "stale", currentVersion: current }]);

export const conflict = (message: string, details?: ErrorDetail[]) => new ApiError("conflict", message, details);

/**
 * Runs work whose data lives in Redis only (shop carts, typing indicators): any failure of Redis
 * (refused, hanging past the client's timeout, an error reply) is a 503 the client may retry — not
 * a 500, and not a silent success, since there is nothing else to read or write instead.
 */
export async function inRedis<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError("unavailable", `${what} is unavailable; try again shortly.`, undefined, { "Retry-After": "5" });
  }
}

/** Turns anything thrown into an ApiError; `undefined` means "unknown — log it and answer 500". */
export function toApiError(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return error;
  // A deployment without a database: nothing to retry against, but not the client's fault either;
  // 503 tells load balancers and uptime checks the instance cannot serve.
  if (error instanceof DatabaseNotConfigured) return new ApiError("config_error", "The server has no database configured.", undefined, undefined, 503);
  const db = classifyDbError(error);
  if (!db) return undefined;
  if (db.neon) logNeonFailure(db);
  switch (db.kind) {
    case "unavailable":
      return new ApiError("unavailable", "The database is unavailable; try again shortly.", undefined, { "Retry-After": "5" });
    case "unique_violation":
      return conflict("A resource with the same unique value already exists.");
    case "check_violation":
    case "foreign_key_violation":
    case "not_null_violation":
      return conflict("The change conflicts with the current state of the data.");
    case "serialization_failure":
      return new ApiError("conflict", "A concurrent change got there first; retry the request.", undefined, { "Retry-After": "1" });
    case "invalid_input":
      // The backstop for values validation let through (see db/errors.ts, class 22); route() logs it.
      return new ApiError("bad_request", "A value is out of range, malformed or not valid text.");
    case "too_large":
      // Retrying cannot help: the statement must ask for less (page it). A bug, so a 500, named.
      return new ApiError("internal", `The database ${db.neon?.status === 413 ? "request" : "reply"} exceeded Neon's size limit${db.neon?.limitBytes ? ` of ${db.neon.limitBytes} bytes` : ""}.`);
    case "rule_failed":
      // A lot changed under a write that planned against it (lib/orders/lots.ts): nothing was written; retry.
      if (db.rule?.code === "lots_moved") return new ApiError("conflict", "A concurrent change got there first; retry the request.", undefined, { "Retry-After": "1" });
      // Domain code translates the rules it raises; one that escapes is a bug, not the client's fault.
      return undefined;
  }
}

/** Neon's own failures (not Postgres errors) say what is wrong with the project: keep them visible. */
function logNeonFailure(db: DbFailure): void {
  log(db.kind === "too_large" ? "error" : "warn", "neon service failure", { kind: db.kind, neonStatus: db.neon!.status, neonMessage: db.neon!.message, limitBytes: db.neon!.limitBytes });
}
