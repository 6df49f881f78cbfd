import { route, preflight } from "../../../../lib/http/route.js";
import { sessionFrom, withSession } from "../../../../lib/http/shop-session.js";
import { CART_TTL_S } from "../../../../lib/storefront/cart-store.js";
import { clearCart, getCart } from "../../../../lib/storefront/carts.js";
import { CartOut, ShopParams } from "../../../../lib/storefront/schemas.js";

const path = "/api/store/[tenant]/cart";

// The session's cart with current prices and availability; a missing or unknown session gets a new id.
export const GET = route(path, { auth: "public", shopSession: true, rateLimit: "store", deferLimit: true, params: ShopParams, output: CartOut }, async ({ request, params, limit }) => {
  const { sessionId, cart } = await getCart(limit, params.tenant, sessionFrom(request));
  return withSession(request, sessionId, cart, CART_TTL_S);
});

// Empties the cart and ends it (the next request gets a new session id). 204.
export const DELETE = route(path, { auth: "public", shopSession: true, status: 204, rateLimit: "store", deferLimit: true, params: ShopParams }, async ({ request, params, limit }) => {
  const { sessionId } = await clearCart(limit, params.tenant, sessionFrom(request));
  return withSession(request, sessionId, undefined, 0);
});

export const OPTIONS = preflight;
