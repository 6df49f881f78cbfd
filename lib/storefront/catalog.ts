import { createHash } from "node:crypto";
import { readDb } from "../../db/replicas.js";
import { UUID_PATTERN } from "../../db/ids.js";
import { responseCache, type CacheState, type Rendered } from "../cache/response-cache.js";
import { ApiError, notFound } from "../http/errors.js";
import { config } from "../platform/config.js";
import * as repo from "./catalog-repo.js";
import type { ProductListInput } from "./schemas.js";
import { forgetShop, knownShop, rememberShop } from "./shops.js";

// The public catalog: the same server-side cache and invalidation as the admin lists (entries live
// under the tenant's id and carry the versions of the "items" and "categories" tags, which every
// item, stock and category write bumps), plus CDN caching (public, s-maxage) with a strong ETag.
// A hit costs no database trip: the shop's tenant id comes from this instance's memory of slugs
// (shops.ts), and the rate-limit check rides with the cache lookup in one Redis round trip. A miss
// reads a replica (README "Read replicas"), unless the lookup shows the catalog was written within
// the replicas' staleness window: then the primary, so no entry is ever filled with pre-write data.

const TAGS = ["items", "categories"];
const SERVER_TTL_S = 86_400;

export interface CatalogAnswer {
  rendered: Rendered;
  state: CacheState;
}

type Read = () => Promise<{ tenantId: string; body: unknown } | undefined>;

/** Strong validator: the body's own hash, so equal bodies (on any instance) have equal tags. */
const strongEtag = (body: string) => `"${createHash("sha256").update(body).digest("base64url").slice(0, 32)}"`;

function renderPublic(body: unknown): Rendered {
  const text = JSON.stringify(body);
  return {
    status: 200,
    headers: {
      "content-type": "application/json",
      ETag: strongEtag(text),
      "Cache-Control": `public, s-maxage=${config.storeCdnMaxAgeSeconds()}, stale-while-revalidate=${config.storeCdnStaleSeconds()}`,
    },
    body: text,
  };
}

/**
 * Serves a catalog read for shop `slug`. `identity` names the answer (route, params, query);
 * `limit` starts the request's rate-limit check, issued beside the cache lookup.
 */
async function serveCatalog(limit: () => Promise<void>, slug: string, identity: string, read: Read): Promise<CatalogAnswer> {
  const compute = async () => {
    const result = await read();
    if (!result) {
      forgetShop(slug);
      throw notFound("Shop");
    }
    rememberShop(slug, result.tenantId);
    return renderPublic(result.body);
  };
  const tenantId = knownShop(slug);
  if (!tenantId) {
    // First sight of this shop on this instance: no namespace to look in yet. The read resolves the
    // slug in its own statement (one round trip) and the next request uses the cache.
    await limit();
    return { rendered: await compute(), state: "bypass" };
  }
  return responseCache().serve(tenantId, identity, { ttl: SERVER_TTL_S, tags: TAGS }, limit(), compute);
}

function decodeCursor(cursor: string): repo.Cursor {
  try {
    const [key, id] = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as [unknown, unknown];
    if (typeof id === "string" && UUID_PATTERN.test(id) && (key === null || typeof key === "string" || Number.isInteger(key))) return { key: key as repo.Cursor["key"], id };
  } catch {
    // falls through to the 400 below
  }
  throw new ApiError("bad_request", "Invalid query.", [{ path: "cursor", message: "is not a cursor from this list" }]);
}

const encodeCursor = (cursor: repo.Cursor) => Buffer.from(JSON.stringify([cursor.key, cursor.id])).toString("base64url");

export function listProducts(limit: () => Promise<void>, slug: string, input: ProductListInput, identity: string, requireCategory = false): Promise<CatalogAnswer> {
  const cursor = input.cursor ? decodeCursor(input.cursor) : undefined;
  return serveCatalog(limit, slug, identity, async () => {
    const db = await readDb();
    const page = await repo.listProducts(db, slug, input, cursor);
    if (!page) return undefined;
    if (requireCategory && !page.categoryFound) throw notFound("Category");
    const nextCursor = page.last ? encodeCursor(page.last) : null;
    const pagination = cursor
      ? { limit: input.limit, nextCursor }
      : { page: input.page, limit: input.limit, total: page.total, totalPages: Math.ceil(page.total / input.limit), nextCursor };
    return { tenantId: page.tenantId, body: { items: page.products, pagination } };
  });
}

export function getProduct(limit: () => Promise<void>, slug: string, id: string, identity: string): Promise<CatalogAnswer> {
  return serveCatalog(limit, slug, identity, async () => {
    const db = await readDb();
    const found = await repo.findProduct(db, slug, id);
    if (!found) return undefined;
    if (!found.product) throw notFound("Product");
    return { tenantId: found.tenantId, body: found.product };
  });
}

export function listShopCategories(limit: () => Promise<void>, slug: string, identity: string): Promise<CatalogAnswer> {
  return serveCatalog(limit, slug, identity, async () => {
    const db = await readDb();
    const tree = await repo.categoryTree(db, slug);
    return tree && { tenantId: tree.tenantId, body: { items: tree.items } };
  });
}
