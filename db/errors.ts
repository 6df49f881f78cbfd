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
  | "rule_failed";

export interface DbFailure {
  kind: DbFailureKind;
  sqlState?: string;
  constraint?: string;
  /** For rule_failed: the code and JSON detail passed to tally_fail() (see migrations/0002). */
  rule?: { code: string; detail: unknown };
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
