import { reply, type Reply } from "./reply.js";

// Shop sessions (guest carts, orders placed without an account). The id is the client's only
// credential for its cart, so it is always server-issued (lib/storefront/cart-store.ts) and sent
// back on every answer, as X-Session-ID and as an HttpOnly cookie (Secure and SameSite=Lax outside
// localhost, where browsers refuse Secure cookies over plain http). A client may send either.

export function sessionFrom(request: Request): string | undefined {
  const header = request.headers.get("x-session-id");
  if (header) return header.trim();
  const cookie = request.headers.get("cookie");
  if (!cookie) return undefined;
  for (const part of cookie.split(";")) {
    const [name, ...value] = part.trim().split("=");
    if (name === "session_id") return value.join("=");
  }
  return undefined;
}

const LOCAL = new Set(["localhost", "127.0.0.1", "[::1]"]);

export function sessionHeaders(request: Request, sessionId: string, maxAgeSeconds: number): Record<string, string> {
  const host = new URL(request.url).hostname;
  const local = LOCAL.has(host) || host.endsWith(".localhost");
  const cookie = [`session_id=${sessionId}`, "Path=/api/store", `Max-Age=${maxAgeSeconds}`, "HttpOnly", "SameSite=Lax", ...(local ? [] : ["Secure"])].join("; ");
  // Never stored by a CDN or shared cache: it names one shopper's cart.
  return { "X-Session-ID": sessionId, "Set-Cookie": cookie, "Cache-Control": "private, no-store" };
}

/** A shop answer carrying the session it was made for. */
export function withSession(request: Request, sessionId: string, body: unknown, maxAgeSeconds: number, status?: number): Reply {
  return reply(body, { status, headers: sessionHeaders(request, sessionId, maxAgeSeconds) });
}
