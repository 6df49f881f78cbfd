import { createHash } from "node:crypto";
import { getDb } from "../../db/client.js";
import { classifyDbError } from "../../db/errors.js";
import { newId } from "../../db/ids.js";
import { forgetApiKeys } from "../auth/api-key-auth.js";
import { forgetPrincipals, type AuthContext, type UserContext } from "../auth/session.js";
import { ApiError, notFound, staleVersion } from "../http/errors.js";
import { earlierResult, type IdempotencyRequest } from "../idempotency/keys.js";
import { config } from "../platform/config.js";
import * as repo from "./repo.js";
import type { TenantCreateInput, TenantUpdateInput } from "./schemas.js";
import { slugAlternatives, slugFromName } from "./settings.js";

export function describeMe(user: UserContext) {
  const live = user.memberships.filter((m) => m.tenantDeletedAt === null);
  const deleted = user.memberships.filter((m) => m.tenantDeletedAt !== null && m.role === "owner");
  return {
    user: { id: user.userId, email: user.email, name: user.name, emailVerified: user.emailVerified },
    memberships: live.map((m) => ({ tenant: { id: m.tenantId, slug: m.tenantSlug, name: m.tenantName }, role: m.role })),
    // Tenants this user owns that are soft-deleted: POST /api/tenants/:id/restore brings one back.
    deletedTenants: deleted.map((m) => ({
      tenant: { id: m.tenantId, slug: m.tenantSlug, name: m.tenantName },
      deletedAt: m.tenantDeletedAt,
      restorableUntil: new Date(Date.parse(m.tenantDeletedAt!) + repo.RESTORE_DAYS * 86_400_000).toISOString(),
    })),
  };
}

/**
 * With an Idempotency-Key the new tenant's id is derived from (principal, key): the key's record is
 * filed under the tenant it creates, so a retry must arrive at the same tenant id to find it.
 */
function tenantIdFor(idem: IdempotencyRequest | undefined): string {
  if (!idem) return newId();
  const hex = createHash("sha256").update(`tenant\n${idem.principal}\n${idem.key}`).digest("hex").slice(0, 32).split("");
  hex[12] = "8"; // UUID version 8 (custom)
  hex[16] = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16); // RFC 4122 variant
  const h = hex.join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function refused(error: unknown, slug: string | undefined): unknown {
  const failure = classifyDbError(error);
  if (failure?.kind === "rule_failed") {
    const detail = (failure.rule?.detail ?? {}) as { suggestion?: string | null; limit?: number };
    if (failure.rule?.code === "slug_taken") return slugTaken(detail.suggestion ?? undefined);
    if (failure.rule?.code === "tenant_cap") {
      return new ApiError("conflict", `You already own ${detail.limit} tenants, the most one account may own.`, [{ path: "tenants", message: "owned-tenant limit reached", limit: detail.limit }]);
    }
  }
  // Two creations raced for one slug: the second fails on the unique index.
  if (failure?.kind === "unique_violation" && failure.constraint?.includes("slug")) return slugTaken(slug ? slugAlternatives(slug).at(-1) : undefined);
  return error;
}

const slugTaken = (suggestion: string | undefined) =>
  new ApiError("slug_taken", "That slug is taken.", [{ path: "slug", message: "already taken", ...(suggestion ? { suggestion } : {}) }]);

export async function createTenant(user: UserContext, input: TenantCreateInput, idempotency: IdempotencyRequest | undefined) {
  if (!user.email || !user.emailVerified) throw new ApiError("forbidden", "Creating a tenant needs a verified email address.");
  const { db } = await getDb();
  const id = tenantIdFor(idempotency);
  const generated = input.slug === undefined ? slugFromName(input.name) : undefined;
  const candidates = input.slug !== undefined ? [input.slug] : [generated!, ...slugAlternatives(generated!)];
  let row: Record<string, unknown>;
  try {
    row = await repo.insertTenant(db, {
      id,
      membershipId: newId(),
      userId: user.userId,
      name: input.name,
      candidates,
      alternatives: input.slug !== undefined ? slugAlternatives(input.slug) : [],
      timezone: input.timezone ?? "UTC",
      currency: input.currency ?? "USD",
      maxOwned: config.maxOwnedTenants(),
      idempotency,
    });
  } catch (error) {
    throw refused(error, input.slug ?? generated);
  }
  const earlier = await earlierResult(db, row, idempotency, id, row.replayed ? repo.tenantFromJson(row.replayed) : undefined, (tenantId) => repo.findTenant(db, tenantId));
  // This instance's cached memberships of the creator must include the new tenant at once.
  forgetPrincipals();
  return earlier ? { tenant: earlier, replayed: true } : { tenant: repo.tenantFromJson(row.tenant), replayed: false };
}

export async function getTenant(auth: AuthContext) {
  const { db } = await getDb();
  const tenant = await repo.findTenant(db, auth.tenant.id);
  if (!tenant) throw notFound("Tenant");
  return tenant;
}

export async function updateTenant(auth: AuthContext, input: TenantUpdateInput, expected: number | undefined) {
  const { db } = await getDb();
  const { version: _version, ...changes } = input;
  const { tenant, currentVersion } = await repo.updateTenant(db, auth.tenant.id, changes, expected);
  if (tenant) {
    forgetPrincipals();
    return tenant;
  }
  if (currentVersion === undefined) throw notFound("Tenant");
  if (expected !== undefined && currentVersion !== expected) throw staleVersion("tenant", currentVersion);
  throw new ApiError("conflict", "Orders have already been numbered; orderNumberStart can only change before the first order.", [
    { path: "orderNumberStart", message: "orders already exist" },
  ]);
}

export async function deleteTenant(auth: AuthContext, expected: number | undefined) {
  const { db } = await getDb();
  const { deleted, currentVersion } = await repo.softDeleteTenant(db, auth.tenant.id, expected);
  if (!deleted) {
    if (currentVersion === undefined) throw notFound("Tenant");
    throw staleVersion("tenant", currentVersion);
  }
  // Effective at once on this instance; other instances drop it within their cache TTLs.
  forgetPrincipals();
  forgetApiKeys((key) => key.tenantId === auth.tenant.id);
  const restorableUntil = new Date(Date.parse(deleted.deletedAt) + repo.RESTORE_DAYS * 86_400_000).toISOString();
  return { ...deleted, restorableUntil };
}

export async function restoreTenant(user: UserContext, tenantId: string) {
  const { db } = await getDb();
  const tenant = await repo.restoreTenant(db, tenantId, user.userId);
  // Not deleted, past the window, not an owner, or no such tenant: one answer for all.
  if (!tenant) throw notFound("Deleted tenant");
  forgetPrincipals();
  // Lookups of its keys while it was deleted were remembered as "no such key".
  forgetApiKeys((key) => key.tenantId === tenantId);
  return tenant;
}
