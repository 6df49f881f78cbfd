import { reply } from "../../lib/http/reply.js";
import { route, preflight } from "../../lib/http/route.js";
import { ALL_ORDERS_CAP } from "../../lib/orders/list.js";
import { allOrders } from "../../lib/orders/service.js";

export const GET = route("/api/orders/all", { auth: "staff", cache: { ttl: 86400, tags: ["orders"] } }, async ({ auth }) => {
  const { items, truncated } = await allOrders(auth.tenant);
  return reply({ items, truncated }, { headers: truncated ? { Warning: `199 - "only the newest ${ALL_ORDERS_CAP} orders; page /api/orders for the rest"` } : {} });
});

export const OPTIONS = preflight;
