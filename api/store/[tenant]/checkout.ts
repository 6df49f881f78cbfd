import { route, preflight } from "../../../lib/http/route.js";
import { sessionFrom, withSession } from "../../../lib/http/shop-session.js";
import { CART_TTL_S } from "../../../lib/storefront/cart-store.js";
import { checkout } from "../../../lib/storefront/checkout.js";
import { CheckoutBody, CheckoutOut, ShopParams } from "../../../lib/storefront/schemas.js";

const path = "/api/store/[tenant]/checkout";

// Idempotency-Key required (400 without). 201 { order, payment, accessToken, reservedUntil };
// 402 payment_failed, 409 insufficient_stock | cart_changed, 422 empty cart.
export const POST = route(
  path,
  { auth: "public", shopSession: true, status: 201, errors: ["insufficient_stock", "cart_changed", "payment_failed"], rateLimit: "store", deferLimit: true, params: ShopParams, body: CheckoutBody, maxBodyBytes: 16_000, idempotent: true, output: CheckoutOut },
  async ({ request, params, body, idempotency, limit }) => {
    const { sessionId, replayed, ...result } = await checkout(limit, params.tenant, sessionFrom(request), body, idempotency);
    const answer = withSession(request, sessionId, result, CART_TTL_S, 201);
    if (replayed) answer.headers["Idempotent-Replayed"] = "true";
    return answer;
  },
);

export const OPTIONS = preflight;
