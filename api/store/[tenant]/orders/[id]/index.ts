import { reply } from "../../../../../lib/http/reply.js";
import { route, preflight } from "../../../../../lib/http/route.js";
import { getShopperOrder } from "../../../../../lib/storefront/orders.js";
import { ShopOrderParams, ShopperOrderOut } from "../../../../../lib/storefront/schemas.js";

const path = "/api/store/[tenant]/orders/[id]";

// The order for its shopper: X-Order-Token (from the checkout) or the session that placed it; else 404.
// A pay-later order whose reservation has passed is expired by this read (stock released once).
export const GET = route(path, { auth: "public", shopper: true, rateLimit: "store", params: ShopOrderParams, output: ShopperOrderOut }, async ({ request, params }) =>
  reply(await getShopperOrder(params.tenant, params.id, request), { headers: { "Cache-Control": "private, no-store" } }),
);

export const OPTIONS = preflight;
