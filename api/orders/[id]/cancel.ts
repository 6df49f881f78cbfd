import { IdParams } from "../../../lib/http/inputs.js";
import { expectedVersion } from "../../../lib/http/preconditions.js";
import { reply } from "../../../lib/http/reply.js";
import { route, preflight } from "../../../lib/http/route.js";
import { idempotencyFrom } from "../../../lib/idempotency/keys.js";
import { cancelOrder } from "../../../lib/orders/service.js";

export const POST = route("/api/orders/[id]/cancel", { auth: "staff", params: IdParams }, async ({ auth, params, request }) => {
  const idem = idempotencyFrom(request, `POST /api/orders/${params.id}/cancel`, null);
  const { order, replayed } = await cancelOrder(auth, params.id, expectedVersion(request), idem);
  return reply(order, { version: order.version, headers: replayed ? { "Idempotent-Replayed": "true" } : {} });
});

export const OPTIONS = preflight;
