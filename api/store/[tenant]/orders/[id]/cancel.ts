import { reply } from "../../../../../lib/http/reply.js";
import { route, preflight } from "../../../../../lib/http/route.js";
import { cancelShopperOrder } from "../../../../../lib/storefront/orders.js";
import { ShopOrderParams, ShopperOrderOut } from "../../../../../lib/storefront/schemas.js";

const path = "/api/store/[tenant]/orders/[id]/cancel";

// The shopper cancels a pending or confirmed order (Idempotency-Key optional): stock back once, the
// card payment refunded or the pay-later one voided. 409 invalid_transition once it is preparing or later,
// reservation_expired once its reservation ran out (the expiry got there first).
export const POST = route(
  path,
  { auth: "public", shopper: true, rateLimit: "store", params: ShopOrderParams, idempotent: true, output: ShopperOrderOut, errors: ["invalid_transition", "reservation_expired"] },
  async ({ request, params, idempotency }) => {
    const { order, replayed } = await cancelShopperOrder(params.tenant, params.id, request, idempotency);
    return reply(order, { headers: { "Cache-Control": "private, no-store", ...(replayed ? { "Idempotent-Replayed": "true" } : {}) } });
  },
);

export const OPTIONS = preflight;
