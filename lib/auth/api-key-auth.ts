import { sql } from "../../db/sql.js";
import { query } from "../../db/atomic.js";
import { getDb } from "../../db/client.js";
import { toIso } from "../../db/values.js";
import { newRoundTripScope, withRoundTripScope } from "../../db/round-trips.js";
import { ApiError } from "../http/errors.js";
import { config } from "../platform/config.js";
import { waitUntil } from "../platform/wait-until.js";
import { hashKey, isWellFormedKey } from "./api-key-format.js";
import { hasRole, type Role } from "./roles.js";

export interface ApiKeyPrincipal {
  id: string;
  tenantId: string;
  tenantSlug: string;
  role: Role;
  /** Milliseconds since the epoch, or null for a key that does not expire. */
  expiresAt: number | null;
}

// Per-instance cache of key lookups by hash (found or not): a warm request verifies a key with no
// I/O. An entry is trusted for API_KEY_CACHE_TTL_MS (at most 10 s), which bounds how long another
// instance keeps accepting a revoked key or a key of a deleted tenant; the instance that revokes
// forgets the key at once. Expiry is checked on every request against the cached expiresAt.
const MAX_TTL_MS = 10_000;
const MAX_ENTRIES = 10_000;
const TOUCH_EVERY_MS = 60_000;
type Entry = { key: ApiKeyPrincipal | null; fetchedAt: number };
const slot = globalThis as typeof globalThis & { __tallyApiKeys?: Map<string, Entry>; __tallyApiKeyTouches?: Map<string, number> };
const cache = (slot.__tallyApiKeys ??= new Map());
const touches = (slot.__tallyApiKeyTouches ??= new Map());

const ttlMs = () => Math.min(MAX_TTL_MS, config.apiKeyCacheTtlMs());

/** Called by the instance that revokes a key or deletes a tenant: effective here at once. */
export function forgetApiKeys(match: (key: ApiKeyPrincipal) => boolean = () => true): void {
  for (const [hash, entry] of cache) if (!entry.key || match(entry.key)) cache.delete(hash);
}

const invalidKey = () =>
  new ApiError("unauthorized", "The API key is invalid, expired or revoked.", undefined, { "WWW-Authenticate": 'Bearer error="invalid_token"' });

async function lookup(hash: string): Promise<ApiKeyPrincipal | null> {
  const { db } = await getDb();
  const rows = await query(
    db,
    sql`SELECT k.id, k.tenant_id, t.slug, k.role, k.expires_at
        FROM api_keys k JOIN tenants t ON t.id = k.tenant_id
        WHERE k.key_hash = ${hash} AND k.revoked_at IS NULL AND t.deleted_at IS NULL`,
  );
  const row = rows[0];
  if (!row) return null;
  const expires = row.expires_at === null || row.expires_at === undefined ? null : new Date(toIso(row.expires_at)).getTime();
  return { id: String(row.id), tenantId: String(row.tenant_id), tenantSlug: String(row.slug), role: row.role as Role, expiresAt: expires };
}

async function principalFor(token: string): Promise<ApiKeyPrincipal | null> {
  const hash = hashKey(token);
  const now = Date.now();
  const hit = cache.get(hash);
  if (hit && now - hit.fetchedAt < ttlMs()) return hit.key;
  const key = await lookup(hash);
  if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value!);
  cache.set(hash, { key, fetchedAt: now });
  return key;
}

/**
 * lastUsedAt, at most once a minute per key: remembered per instance, and the UPDATE's own
 * condition keeps several instances from writing more often. It runs after the response
 * (waitUntil) in a round-trip scope of its own, so the request is not charged for it.
 */
function touch(key: ApiKeyPrincipal): void {
  const now = Date.now();
  if (now - (touches.get(key.id) ?? 0) < TOUCH_EVERY_MS) return;
  if (touches.size >= MAX_ENTRIES) touches.delete(touches.keys().next().value!);
  touches.set(key.id, now);
  const later = new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
    withRoundTripScope(newRoundTripScope(), async () => {
      const { db } = await getDb();
      await query(
        db,
        sql`UPDATE api_keys SET last_used_at = now()
            WHERE id = ${key.id} AND tenant_id = ${key.tenantId} AND (last_used_at IS NULL OR last_used_at < now() - interval '60 seconds')`,
      );
    }),
  );
  waitUntil(later, "api key last used");
}

/** Verifies `Authorization: Bearer tly_…`: the key's tenant and role, or 401/403. */
export async function verifyApiKey(token: string, required: Role, requestedSlug: string | null): Promise<ApiKeyPrincipal> {
  if (!isWellFormedKey(token)) throw invalidKey();
  const key = await principalFor(token);
  if (!key || (key.expiresAt !== null && key.expiresAt <= Date.now())) throw invalidKey();
  touch(key);
  // A key is bound to its tenant: naming another one is refused rather than silently ignored.
  if (requestedSlug && requestedSlug.trim().toLowerCase() !== key.tenantSlug) throw new ApiError("forbidden", "This API key belongs to another tenant.");
  if (!hasRole(key.role, required)) throw new ApiError("forbidden", `This action needs the ${required} role.`);
  return key;
}
