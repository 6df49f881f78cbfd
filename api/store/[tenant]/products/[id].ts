import { publicAnswer, publicIdentity } from "../../../../lib/http/public-cache.js";
import { route, preflight } from "../../../../lib/http/route.js";
import { getProduct } from "../../../../lib/storefront/catalog.js";
import { ProductOut, ShopItemParams } from "../../../../lib/storefront/schemas.js";

const path = "/api/store/[tenant]/products/[id]";

export const GET = route(path, { auth: "public", rateLimit: "store", deferLimit: true, conditional: true, params: ShopItemParams, output: ProductOut }, async ({ request, params, limit }) =>
  publicAnswer(request, await getProduct(limit, params.tenant, params.id, publicIdentity(path, params, undefined))),
);

export const OPTIONS = preflight;
