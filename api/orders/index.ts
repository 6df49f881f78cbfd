import { reply } from "../../lib/http/reply.js";
import { route, preflight } from "../../lib/http/route.js";
import { OrderCreate, OrderListQuery, OrderOut, OrderPageOut } from "../../lib/orders/schemas.js";
import { createOrder, listOrders } from "../../lib/orders/service.js";

const path = "/api/orders";

// Never cached: the order book changes all day and staff need it exact.
export const GET = route(path, { auth: "staff", output: OrderPageOut, query: OrderListQuery }, ({ auth, query }) => listOrders(auth.tenant, query));

export const POST = route(path, { auth: "staff", output: OrderOut, status: 201, errors: ["insufficient_stock"], body: OrderCreate, idempotent: true }, async ({ auth, body, idempotency }) => {
  const { order, replayed } = await createOrder(auth, body, idempotency);
  return reply(order, {
    status: 201,
    version: order.version,
    headers: { Location: `/api/orders/${order.id}`, ...(replayed ? { "Idempotent-Replayed": "true" } : {}) },
  });
});

export const OPTIONS = preflight;
