import { config } from "../platform/config.js";

// Which tenant a shop slug names, remembered per warm instance so a cached catalog answer needs no
// database trip to find its cache namespace (the tenant id). Only slugs a database read just
// resolved are remembered; a miss always resolves the slug again in its own (single) statement, so
// a stale entry can at worst serve a cached answer for up to AUTH_CACHE_TTL_MS after a tenant is
// deleted (and never longer than CACHE_MAX_STALE_S after its last change).
const slot = globalThis as typeof globalThis & { __tallyShops?: Map<string, { id: string; until: number }> };
const shops = (slot.__tallyShops ??= new Map());
const MAX = 10_000;

export function knownShop(slug: string): string | undefined {
  const hit = shops.get(slug);
  if (!hit) return undefined;
  if (hit.until > Date.now()) return hit.id;
  shops.delete(slug);
  return undefined;
}

export function rememberShop(slug: string, tenantId: string): void {
  if (shops.size >= MAX && !shops.has(slug)) shops.delete(shops.keys().next().value!);
  shops.set(slug, { id: tenantId, until: Date.now() + config.authCacheTtlMs() });
}

export function forgetShop(slug: string): void {
  shops.delete(slug);
}

/** Tests: start from an empty map. */
export function forgetShops(): void {
  shops.clear();
}
