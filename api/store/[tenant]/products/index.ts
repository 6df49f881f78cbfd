import { publicAnswer, publicIdentity } from "../../../../lib/http/public-cache.js";
import { route, preflight } from "../../../../lib/http/route.js";
import { listProducts } from "../../../../lib/storefront/catalog.js";
import { ProductListQuery, ProductPageOut, ShopParams } from "../../../../lib/storefront/schemas.js";

const path = "/api/store/[tenant]/products";

// Public: published items of the shop; CDN-cacheable, strong ETag, per-IP limit.
export const GET = route(path, { auth: "public", rateLimit: "store", deferLimit: true, conditional: true, params: ShopParams, query: ProductListQuery, output: ProductPageOut }, async ({ request, params, query, limit }) =>
  publicAnswer(request, await listProducts(limit, params.tenant, query, publicIdentity(path, params, query))),
);

export const OPTIONS = preflight;
