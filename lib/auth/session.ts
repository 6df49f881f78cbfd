import { getDb } from "../../db/client.js";
import { ApiError } from "../http/errors.js";
import { config } from "../platform/config.js";
import { loadPrincipal, type Membership, type Principal } from "./principal-repo.js";
import { hasRole, type Role } from "./roles.js";
import { verifyApiKey } from "./api-key-auth.js";
import { isWellFormedKey, KEY_MARK } from "./api-key-format.js";
import { verifyBearer, type Identity } from "./verify.js";

export interface Tenant {
  id: string;
  slug: string;
  /** IANA name: the tenant's days (analytics) are days in this timezone; absent means UTC. Cached like the membership. */
  timezone?: string;
}

export interface AuthContext {
  /** The signed-in user, or for an API key the key's id (what created_by columns record). */
  userId: string;
  tenant: Tenant;
  role: Role;
  /** Set when the request is authenticated by an API key rather than a person's token. */
  apiKeyId?: string;
}

/** A signed-in person on routes that need no tenant (GET /api/me, POST /api/tenants). */
export interface UserContext {
  userId: string;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
  memberships: Membership[];
}

// Per-instance membership cache: a warm request does no auth I/O. Changes made through this instance
// clear it at once; other instances see them within the TTL (AUTH_CACHE_TTL_MS, default 60 s).
// A principal with no memberships is cached briefly so a fresh invite is picked up quickly.
const EMPTY_TTL_MS = 5_000;
const MAX_ENTRIES = 10_000;
const slot = globalThis as typeof globalThis & { __tallyPrincipals?: Map<string, { principal: Principal; loadedAt: number; expires: number }> };
const principals = (slot.__tallyPrincipals ??= new Map());

export function forgetPrincipals(): void {
  principals.clear();
}

function bearerToken(request: Request): string {
  const header = request.headers.get("authorization");
  const match = header ? /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(header) : null;
  if (!match) {
    throw new ApiError("unauthorized", "Send a bearer token in the Authorization header.", undefined, { "WWW-Authenticate": "Bearer" });
  }
  return match[1]!;
}

async function principalFor(identity: { issuer: string; subject: string }, load: () => Promise<Principal>, requestedSlug?: string | null): Promise<Principal> {
  const key = `${identity.issuer}\u0000${identity.subject}`;
  const now = Date.now();
  const hit = principals.get(key);
  // A tenant the cached entry does not know (created or joined on another instance) is looked up
  // again, at most once per EMPTY_TTL_MS, instead of being refused for the whole TTL.
  const knows = !requestedSlug || hit?.principal.memberships.some((m: Membership) => m.tenantSlug === requestedSlug.trim().toLowerCase());
  if (hit && hit.expires > now && (knows || hit.loadedAt > now - EMPTY_TTL_MS)) return hit.principal;
  const principal = await load();
  if (principals.size >= MAX_ENTRIES) principals.delete(principals.keys().next().value!);
  principals.set(key, { principal, loadedAt: now, expires: now + (principal.memberships.length ? config.authCacheTtlMs() : EMPTY_TTL_MS) });
  return principal;
}

function pickMembership(all: Membership[], requestedSlug: string | null): Membership {
  const memberships = all.filter((m) => m.tenantDeletedAt === null);
  if (memberships.length === 0) throw new ApiError("forbidden", "This account is not a member of any tenant.");
  if (requestedSlug) {
    const chosen = memberships.find((m) => m.tenantSlug === requestedSlug.trim().toLowerCase());
    if (!chosen) throw new ApiError("forbidden", "This account is not a member of that tenant.");
    return chosen;
  }
  if (memberships.length > 1) {
    throw new ApiError(
      "bad_request",
      "This account belongs to several tenants; choose one with the X-Tenant header.",
      memberships.map((m) => ({ path: "X-Tenant", message: "one of the member tenants", tenant: m.tenantSlug })),
    );
  }
  return memberships[0]!;
}

async function signedIn(token: string, requestedSlug: string | null): Promise<{ identity: Identity; principal: Principal }> {
  const identity = await verifyBearer(token);
  const principal = await principalFor(identity, async () => loadPrincipal((await getDb()).db, identity), requestedSlug);
  return { identity, principal };
}

/**
 * The bearer token of a route that only people may call: an API key there is 403 (`refusal`), a
 * malformed one 401 — a failed authentication, which counts toward the per-IP limit.
 */
export function personToken(request: Request, refusal: string): string {
  const token = bearerToken(request);
  if (token.startsWith(KEY_MARK)) {
    if (!isWellFormedKey(token)) throw new ApiError("unauthorized", "The API key is invalid, expired or revoked.", undefined, { "WWW-Authenticate": 'Bearer error="invalid_token"' });
    throw new ApiError("forbidden", refusal);
  }
  return token;
}

/** A person's token, no tenant needed. API keys act for a tenant, never as a person: 403. */
export async function authenticateUser(request: Request): Promise<UserContext> {
  const token = personToken(request, "API keys cannot act as a person; sign in with a user token.");
  const { identity, principal } = await signedIn(token, null);
  return { userId: principal.userId, email: principal.email, emailVerified: identity.emailVerified, name: principal.name, memberships: principal.memberships };
}

export async function authenticate(request: Request, required: Role): Promise<AuthContext> {
  const token = bearerToken(request);
  const requestedSlug = request.headers.get("x-tenant");
  if (token.startsWith(KEY_MARK)) {
    const key = await verifyApiKey(token, required, requestedSlug);
    return { userId: key.id, apiKeyId: key.id, tenant: { id: key.tenantId, slug: key.tenantSlug, timezone: key.tenantTimezone }, role: key.role };
  }
  const { principal } = await signedIn(token, requestedSlug);
  const membership = pickMembership(principal.memberships, requestedSlug);
  if (!hasRole(membership.role, required)) {
    throw new ApiError("forbidden", `This action needs the ${required} role.`);
  }
  return { userId: principal.userId, tenant: { id: membership.tenantId, slug: membership.tenantSlug, timezone: membership.tenantTimezone }, role: membership.role };
}
