import { createHash, randomBytes } from "node:crypto";
import type { AuthContext } from "../auth/session.js";
import { ApiError } from "../http/errors.js";
import { getRedis } from "../platform/redis.js";
import { errorFields } from "../platform/log-error.js";
import { log } from "../platform/log.js";

// EventSource cannot send an Authorization header, so staff trade theirs for a stream token: 32
// random bytes, valid for 60 s, redeemable once (GETDEL), for ?token= on GET /api/events/stream. Only
// its SHA-256 is a key; the value is who it stands for. In Redis (every instance can redeem it), or
// in this process without Redis (dev, tests) — and while Redis is unreachable, when only the
// instance that issued a token can redeem it (another answers 401; the client asks for a new one).

export const STREAM_TOKEN_TTL_S = 60;
const FORM = /^[A-Za-z0-9_-]{43}$/;

interface Claims {
  userId: string;
  tenant: { id: string; slug: string };
  role: AuthContext["role"];
  apiKeyId?: string;
}

const slot = globalThis as typeof globalThis & { __tallyStreamTokens?: Map<string, { claims: Claims; expires: number }> };
const local = (slot.__tallyStreamTokens ??= new Map());

const keyOf = (prefix: string, token: string) => `${prefix}:stream-token:${createHash("sha256").update(token).digest("base64url")}`;

const unavailable = (error: unknown) => {
  log("error", "stream token store unavailable", errorFields(error));
  return new ApiError("unavailable", "Stream tokens are unavailable right now; connect with the Authorization header or retry.", undefined, { "Retry-After": "1" });
};

export async function issueStreamToken(auth: AuthContext): Promise<{ token: string; expiresAt: string }> {
  const token = randomBytes(32).toString("base64url");
  const claims: Claims = { userId: auth.userId, tenant: auth.tenant, role: auth.role, ...(auth.apiKeyId ? { apiKeyId: auth.apiKeyId } : {}) };
  const expires = Date.now() + STREAM_TOKEN_TTL_S * 1000;
  const handle = await getRedis();
  const stored = handle
    ? await handle.redis.set(keyOf(handle.prefix, token), JSON.stringify(claims), { ex: STREAM_TOKEN_TTL_S }).then(
        () => true,
        (error: unknown) => {
          // Redis is down: keep it in this instance (redeemable here only) rather than refuse.
          log("warn", "stream token kept in process: Redis unavailable", errorFields(error));
          return false;
        },
      )
    : false;
  if (!stored) {
    for (const [key, entry] of local) if (entry.expires <= Date.now()) local.delete(key);
    local.set(keyOf("local", token), { claims, expires });
  }
  return { token, expiresAt: new Date(expires).toISOString() };
}

const refused = () => new ApiError("unauthorized", "The stream token is invalid, expired or already used.", undefined, { "WWW-Authenticate": 'Bearer error="invalid_token"' });

/**
 * The caller a `?token=` stands for, consuming it; undefined when the request has none (the
 * Authorization header applies then). A token for another tenant than X-Tenant names is refused.
 */
export async function redeemStreamToken(request: Request): Promise<AuthContext | undefined> {
  const token = new URL(request.url).searchParams.get("token");
  if (token === null) return undefined;
  if (!FORM.test(token)) throw refused();
  let claims: Claims | undefined;
  const key = keyOf("local", token);
  const kept = local.get(key);
  const handle = await getRedis();
  if (kept || !handle) {
    local.delete(key);
    claims = kept && kept.expires > Date.now() ? kept.claims : undefined;
  } else {
    const stored = await handle.redis.getdel<Claims | string>(keyOf(handle.prefix, token)).catch((error) => {
      throw unavailable(error);
    });
    claims = typeof stored === "string" ? (JSON.parse(stored) as Claims) : (stored ?? undefined);
  }
  if (!claims) throw refused();
  const slug = request.headers.get("x-tenant");
  if (slug && slug.trim().toLowerCase() !== claims.tenant.slug) throw refused();
  return { userId: claims.userId, tenant: claims.tenant, role: claims.role, ...(claims.apiKeyId ? { apiKeyId: claims.apiKeyId } : {}) };
}
