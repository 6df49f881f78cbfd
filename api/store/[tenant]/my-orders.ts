import { reply } from "../../../lib/http/reply.js";
import { route, preflight } from "../../../lib/http/route.js";
import { listMyOrders } from "../../../lib/storefront/orders.js";
import { MyOrdersOut, MyOrdersQuery, ShopParams } from "../../../lib/storefront/schemas.js";

const path = "/api/store/[tenant]/my-orders";

// The orders this shop session placed and, for a shopper signed in with Google, every order placed
// with their verified email (any session); newest first, keyset pages (pagination.nextCursor).
export const GET = route(path, { auth: "public", shopper: true, rateLimit: "store", params: ShopParams, query: MyOrdersQuery, output: MyOrdersOut }, async ({ request, params, query }) =>
  reply(await listMyOrders(params.tenant, request, { limit: Number(query.limit), cursor: query.cursor }), { headers: { "Cache-Control": "private, no-store" } }),
);

export const OPTIONS = preflight;
