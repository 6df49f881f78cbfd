import * as v from "valibot";
import { publicAnswer, publicIdentity } from "../../../../../lib/http/public-cache.js";
import { route, preflight } from "../../../../../lib/http/route.js";
import { listProducts } from "../../../../../lib/storefront/catalog.js";
import { ProductListQuery, ProductPageOut, ShopCategoryParams } from "../../../../../lib/storefront/schemas.js";

const path = "/api/store/[tenant]/categories/[slug]/products";

// The category (and everything under it) from the path; an unknown category is 404.
const Query = v.omit(ProductListQuery, ["category"]);

export const GET = route(path, { auth: "public", rateLimit: "store", deferLimit: true, conditional: true, params: ShopCategoryParams, query: Query, output: ProductPageOut }, async ({ request, params, query, limit }) =>
  publicAnswer(request, await listProducts(limit, params.tenant, { ...query, category: params.slug }, publicIdentity(path, params, query), true)),
);

export const OPTIONS = preflight;
