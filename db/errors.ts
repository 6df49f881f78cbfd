// One place that reads Postgres and driver errors. drizzle wraps driver errors (err.cause), neon-http
// batch errors carry err.code directly, and neon wraps network failures in err.sourceError.
export type DbFailureKind =
  | "unique_violation"
  | "check_violation"
  | "foreign_key_violation"
  | "not_null_violation"
  | "serialization_failure"
  | "invalid_input"
  | "unavailable"
  | "too_large"
  | "rule_failed";

export interface DbFailure {
  kind: DbFailureKind;
  sqlState?: string;
  constraint?: string;
  /** For rule_failed: the code and JSON detail passed to tally_fail() (see migrations/0002). */
  rule?: { code: string; detail: unknown };
  /** For too_large and Neon's own failures: the HTTP status Neon answered, its message and byte limit. */
  neon?: { status: number; message: string; limitBytes?: number };
}

const BY_SQLSTATE: Record<string, DbFailureKind> = {
  "23505": "unique_violation",
  "23514": "check_violation",
  "23503": "foreign_key_violation",
  "23502": "not_null_violation",
  "40001": "serialization_failure",
  "40P01": "serialization_failure",
  "22P02": "invalid_input",
  "22003": "invalid_input",
  "22001": "invalid_input",
  "22007": "invalid_input",
  "22008": "invalid_input",
  "57014": "unavailable",
  "53300": "unavailable",
  "57P01": "unavailable",
  "57P02": "unavailable",
  "57P03": "unavailable",
};

const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_CONNECT_TIMEOUT"]);
const NETWORK_MESSAGES = [
  "Error connecting to database",
  "Connection terminated",
  "timeout exceeded when trying to connect",
  "Query read timeout",
  "Server error (HTTP status 5",
  "fetch failed",
];

function* causes(error: unknown): Generator<Record<string, unknown>> {
  let current: unknown = error;
  for (let depth = 0; depth < 6 && current && typeof current === "object"; depth++) {
    const record = current as Record<string, unknown>;
    yield record;
    current = record.cause ?? record.sourceError;
  }
}

export function classifyDbError(error: unknown): DbFailure | undefined {
  for (const e of causes(error)) {
    const neon = neonServiceFailure(e);
    if (neon) return neon;
    const code = typeof e.code === "string" ? e.code : undefined;
    if (code === "P0001" && typeof e.message === "string") {
      let detail: unknown = null;
      try {
        detail = typeof e.detail === "string" ? JSON.parse(e.detail) : null;
      } catch {
        detail = null;
      }
      return { kind: "rule_failed", sqlState: code, rule: { code: e.message, detail } };
    }
    if (code && /^[0-9A-Z]{5}$/.test(code)) {
      // Class 22 is "data exception" (22021: NUL or invalid UTF-8 in text, 22P02, 22003, ...): the
      // value was bad, whatever the statement. Validation should have refused it first.
      const kind = BY_SQLSTATE[code] ?? (code.startsWith("08") ? "unavailable" : code.startsWith("22") ? "invalid_input" : undefined);
      if (kind) return { kind, sqlState: code, constraint: typeof e.constraint === "string" ? e.constraint : undefined };
    }
    if (code && NETWORK_CODES.has(code)) return { kind: "unavailable" };
    if (e.name === "AbortError" || e.name === "TimeoutError") return { kind: "unavailable" };
    const message = typeof e.message === "string" ? e.message : "";
    if (NETWORK_MESSAGES.some((m) => message.includes(m))) return { kind: "unavailable" };
  }
  return undefined;
}

// Neon's own failures, as @neondatabase/serverless surfaces them (checked against neondatabase/neon
// proxy/src/serverless/sql_over_http.rs). Any status but 400 becomes a NeonDbError whose message is
// "Server error (HTTP status N): <body>": 500 when the compute cannot be woken or a quota is used up,
// 507 when the reply would pass the proxy's 10 MiB limit, 413 when the request does. A 400 is read
// as a Postgres error, and Neon's own 400s (password refused, unknown endpoint) carry an empty code.
const NEON_HTTP_STATUS = /^Server error \(HTTP status (\d{3})\): ([\s\S]*)$/;

function neonServiceFailure(e: Record<string, unknown>): DbFailure | undefined {
  if (e.name !== "NeonDbError" || typeof e.message !== "string") return undefined;
  const http = NEON_HTTP_STATUS.exec(e.message);
  if (http) {
    const status = Number(http[1]);
    const message = neonMessage(http[2]!);
    if (status === 413 || status === 507) {
      const limit = /max is (\d+) bytes/.exec(message);
      return { kind: "too_large", neon: { status, message, limitBytes: limit ? Number(limit[1]) : undefined } };
    }
    return { kind: "unavailable", neon: { status, message } };
  }
  if (e.code === "") return { kind: "unavailable", neon: { status: 400, message: e.message } };
  return undefined;
}

function neonMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { message?: unknown };
    return typeof parsed.message === "string" ? parsed.message : body;
  } catch {
    return body;
  }
}
