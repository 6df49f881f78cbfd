import { getDb } from "../../db/client.js";
import { ApiError } from "../http/errors.js";
import { config } from "../platform/config.js";
import { loadPrincipal, type Membership, type Principal } from "./principal-repo.js";
import { hasRole, type Role } from "./roles.js";
import { verifyBearer } from "./verify.js";

export interface Tenant {
  id: string;
  slug: string;
}

export interface AuthContext {
  userId: string;
  tenant: Tenant;
  role: Role;
}

// Per-instance membership cache: a warm request does no auth I/O. Changes made through this instance
// clear it at once; other instances see them within the TTL (AUTH_CACHE_TTL_MS, default 60 s).
// A principal with no memberships is cached briefly so a fresh invite is picked up quickly.
const EMPTY_TTL_MS = 5_000;
const MAX_ENTRIES = 10_000;
const slot = globalThis as typeof globalThis & { __tallyPrincipals?: Map<string, { principal: Principal; expires: number }> };
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

async function principalFor(identity: { issuer: string; subject: string }, load: () => Promise<Principal>): Promise<Principal> {
  const key = `${identity.issuer}\u0000${identity.subject}`;
  const now = Date.now();
  const hit = principals.get(key);
  if (hit && hit.expires > now) return hit.principal;
  const principal = await load();
  if (principals.size >= MAX_ENTRIES) principals.delete(principals.keys().next().value!);
  principals.set(key, { principal, expires: now + (principal.memberships.length ? config.authCacheTtlMs() : EMPTY_TTL_MS) });
  return principal;
}

function pickMembership(memberships: Membership[], requestedSlug: string | null): Membership {
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

export async function authenticate(request: Request, required: Role): Promise<AuthContext> {
  const identity = await verifyBearer(bearerToken(request));
  const principal = await principalFor(identity, async () => loadPrincipal((await getDb()).db, identity));
  const membership = pickMembership(principal.memberships, request.headers.get("x-tenant"));
  if (!hasRole(membership.role, required)) {
    throw new ApiError("forbidden", `This action needs the ${required} role.`);
  }
  return { userId: principal.userId, tenant: { id: membership.tenantId, slug: membership.tenantSlug }, role: membership.role };
}
