import { reply } from "../../../../../lib/http/reply.js";
import { route, preflight } from "../../../../../lib/http/route.js";
import { payShopperOrder } from "../../../../../lib/storefront/orders.js";
import { PayBody, ShopOrderParams, ShopperOrderOut } from "../../../../../lib/storefront/schemas.js";

const path = "/api/store/[tenant]/orders/[id]/pay";

// Pays a pending pay-later order by card (Idempotency-Key required) within its reservation: 200,
// confirmed. 402 payment_failed (the order stays pending), 409 reservation_expired (the stock was
// released), 409 invalid_transition when it is not pending.
export const POST = route(
  path,
  { auth: "public", shopper: true, rateLimit: "store", params: ShopOrderParams, body: PayBody, maxBodyBytes: 2_000, idempotent: true, output: ShopperOrderOut, errors: ["payment_failed", "reservation_expired", "invalid_transition"] },
  async ({ request, params, body, idempotency }) => {
    const { order, replayed } = await payShopperOrder(params.tenant, params.id, request, body, idempotency);
    return reply(order, { headers: { "Cache-Control": "private, no-store", ...(replayed ? { "Idempotent-Replayed": "true" } : {}) } });
  },
);

export const OPTIONS = preflight;
