import { IdParams } from "../../../lib/http/inputs.js";
import { expectedVersion } from "../../../lib/http/preconditions.js";
import { reply } from "../../../lib/http/reply.js";
import { route, preflight } from "../../../lib/http/route.js";
import { OrderOut, OrderStatusChange } from "../../../lib/orders/schemas.js";
import { changeStatus } from "../../../lib/orders/service.js";

export const PATCH = route("/api/orders/[id]/status", { auth: "staff", output: OrderOut, errors: ["invalid_transition", "precondition_failed"], params: IdParams, body: OrderStatusChange }, async ({ auth, params, body, request }) => {
  const order = await changeStatus(auth, params.id, body.status, expectedVersion(request, body.version));
  return reply(order, { version: order.version });
});

export const OPTIONS = preflight;
