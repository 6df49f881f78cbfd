import { publicAnswer, publicIdentity } from "../../../../lib/http/public-cache.js";
import { route, preflight } from "../../../../lib/http/route.js";
import { listShopCategories } from "../../../../lib/storefront/catalog.js";
import { ShopCategoriesOut, ShopParams } from "../../../../lib/storefront/schemas.js";

const path = "/api/store/[tenant]/categories";

// The category tree with published-product counts (each category's count includes its children's).
export const GET = route(path, { auth: "public", rateLimit: "store", deferLimit: true, conditional: true, params: ShopParams, output: ShopCategoriesOut }, async ({ request, params, limit }) =>
  publicAnswer(request, await listShopCategories(limit, params.tenant, publicIdentity(path, params, undefined))),
);

export const OPTIONS = preflight;
