import { IdParams } from "../../../lib/http/inputs.js";
import { expectedVersion } from "../../../lib/http/preconditions.js";
import { reply } from "../../../lib/http/reply.js";
import { route, preflight } from "../../../lib/http/route.js";
import { cancelOrder } from "../../../lib/orders/service.js";
import { OrderOut } from "../../../lib/orders/schemas.js";

export const POST = route("/api/orders/[id]/cancel", { auth: "staff", output: OrderOut, errors: ["invalid_transition", "precondition_failed"], params: IdParams, idempotent: true }, async ({ auth, params, request, idempotency }) => {
  const { order, replayed } = await cancelOrder(auth, params.id, expectedVersion(request), idempotency);
  return reply(order, { version: order.version, headers: replayed ? { "Idempotent-Replayed": "true" } : {} });
});

export const OPTIONS = preflight;
