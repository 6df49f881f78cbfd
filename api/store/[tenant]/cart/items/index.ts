import { route, preflight } from "../../../../../lib/http/route.js";
import { sessionFrom, withSession } from "../../../../../lib/http/shop-session.js";
import { CART_TTL_S } from "../../../../../lib/storefront/cart-store.js";
import { addToCart } from "../../../../../lib/storefront/carts.js";
import { CartItemAdd, CartLineChangeOut, ShopParams } from "../../../../../lib/storefront/schemas.js";

const path = "/api/store/[tenant]/cart/items";

// Adds to the item's line (quantities add up, at most 99; at most 50 lines). 201.
export const POST = route(path, { auth: "public", shopSession: true, status: 201, rateLimit: "store", deferLimit: true, params: ShopParams, body: CartItemAdd, maxBodyBytes: 4_000, output: CartLineChangeOut }, async ({ request, params, body, limit }) => {
  const { sessionId, body: answer } = await addToCart(limit, params.tenant, sessionFrom(request), body);
  return withSession(request, sessionId, answer, CART_TTL_S, 201);
});

export const OPTIONS = preflight;
