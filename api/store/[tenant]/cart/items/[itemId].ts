import { route, preflight } from "../../../../../lib/http/route.js";
import { sessionFrom, withSession } from "../../../../../lib/http/shop-session.js";
import { CART_TTL_S } from "../../../../../lib/storefront/cart-store.js";
import { removeFromCart, setCartQuantity } from "../../../../../lib/storefront/carts.js";
import { CartItemParams, CartLineChangeOut, CartQuantity } from "../../../../../lib/storefront/schemas.js";

const path = "/api/store/[tenant]/cart/items/[itemId]";

// Sets the line's quantity (1-99); 404 if the cart has no such line.
export const PUT = route(path, { auth: "public", shopSession: true, rateLimit: "store", deferLimit: true, params: CartItemParams, body: CartQuantity, maxBodyBytes: 4_000, output: CartLineChangeOut }, async ({ request, params, body, limit }) => {
  const { sessionId, body: answer } = await setCartQuantity(limit, params.tenant, sessionFrom(request), params.itemId, body.quantity);
  return withSession(request, sessionId, answer, CART_TTL_S);
});

export const DELETE = route(path, { auth: "public", shopSession: true, rateLimit: "store", deferLimit: true, params: CartItemParams, output: CartLineChangeOut }, async ({ request, params, limit }) => {
  const { sessionId, body: answer } = await removeFromCart(limit, params.tenant, sessionFrom(request), params.itemId);
  return withSession(request, sessionId, answer, CART_TTL_S);
});

export const OPTIONS = preflight;
