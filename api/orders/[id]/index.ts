import { IdParams } from "../../../lib/http/inputs.js";
import { expectedVersion } from "../../../lib/http/preconditions.js";
import { reply } from "../../../lib/http/reply.js";
import { route, preflight } from "../../../lib/http/route.js";
import { OrderOut, OrderUpdate } from "../../../lib/orders/schemas.js";
import { getOrder, updateOrder } from "../../../lib/orders/service.js";

const path = "/api/orders/[id]";

export const GET = route(path, { auth: "staff", output: OrderOut, params: IdParams, cache: { ttl: 86400, tags: ["orders"] } }, async ({ auth, params }) => {
  const order = await getOrder(auth.tenant, params.id);
  return reply(order, { version: order.version });
});

export const PUT = route(path, { auth: "staff", output: OrderOut, errors: ["insufficient_stock", "invalid_transition", "precondition_failed"], params: IdParams, body: OrderUpdate }, async ({ auth, params, body, request }) => {
  const { version, ...changes } = body;
  const order = await updateOrder(auth, params.id, changes, expectedVersion(request, version));
  return reply(order, { version: order.version });
});

export const OPTIONS = preflight;
