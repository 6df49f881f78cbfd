import { replicaSet, stickyMs } from "../../db/replicas.js";

// Read-your-writes across requests (README "Read replicas"). A function instance keeps nothing
// between one caller's requests (the next one may land on another instance), so the caller carries
// it: a successful write answers with the time until which its author reads from the primary, as a
// cookie (browsers, the storefront) and as a header (API clients echo it back). Sent back unexpired,
// it pins that request's reads to the primary. Without replicas none of this is sent or read.

export const READ_PRIMARY_COOKIE = "tally_read_primary";
export const READ_PRIMARY_HEADER = "X-Read-Primary-Until";

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

function cookieValue(request: Request, name: string): string | undefined {
  for (const part of (request.headers.get("cookie") ?? "").split(";")) {
    const [key, ...rest] = part.trim().split("=");
    if (key === name) return rest.join("=");
  }
  return undefined;
}

/**
 * A request reads from the primary when it is a write (it may read what it is about to change) or
 * carries an unexpired marker from its own earlier write. A marker further in the future than one
 * window is not one we issued, and is ignored.
 */
export function readsFromPrimary(request: Request, now = Date.now()): boolean {
  const set = replicaSet();
  if (set.replicas.length === 0) return false;
  if (!SAFE_METHODS.has(request.method)) return true;
  const window = stickyMs(set.settings);
  for (const raw of [request.headers.get(READ_PRIMARY_HEADER) ?? undefined, cookieValue(request, READ_PRIMARY_COOKIE)]) {
    const until = Number(raw);
    if (raw && Number.isSafeInteger(until) && until > now && until <= now + window) return true;
  }
  return false;
}

const isLocal = (request: Request) => ["localhost", "127.0.0.1", "[::1]"].includes(new URL(request.url).hostname);

/** The marker for a write's answer; none for reads, failures, or without replicas. */
export function readPrimaryHeaders(request: Request, status: number, now = Date.now()): Record<string, string> {
  const set = replicaSet();
  if (set.replicas.length === 0 || SAFE_METHODS.has(request.method) || status >= 400) return {};
  const window = stickyMs(set.settings);
  const until = now + window;
  const cookie = [`${READ_PRIMARY_COOKIE}=${until}`, `Max-Age=${Math.ceil(window / 1000)}`, "Path=/api", "HttpOnly", "SameSite=Lax", ...(isLocal(request) ? [] : ["Secure"])];
  return { [READ_PRIMARY_HEADER]: String(until), "Set-Cookie": cookie.join("; ") };
}
