import { created } from "../../lib/http/reply.js";
import { route, preflight } from "../../lib/http/route.js";
import { PoCreate, PoListQuery, PurchaseOrderOut, PurchaseOrderPageOut } from "../../lib/inventory/schemas.js";
import { createPurchaseOrder, listPurchaseOrders } from "../../lib/inventory/po-service.js";

const path = "/api/purchase-orders";

export const GET = route(path, { auth: "staff", query: PoListQuery, output: PurchaseOrderPageOut, cache: { ttl: 86400, tags: ["purchase-orders"] } }, ({ auth, query }) =>
  listPurchaseOrders(auth.tenant, query),
);

export const POST = route(path, { auth: "admin", status: 201, body: PoCreate, output: PurchaseOrderOut }, async ({ auth, body }) => {
  const po = await createPurchaseOrder(auth, body);
  return created(po, `/api/purchase-orders/${po.id}`, po.version);
});

export const OPTIONS = preflight;
