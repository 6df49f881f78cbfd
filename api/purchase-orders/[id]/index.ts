import { IdParams } from "../../../lib/http/inputs.js";
import { expectedVersion } from "../../../lib/http/preconditions.js";
import { reply } from "../../../lib/http/reply.js";
import { route, preflight } from "../../../lib/http/route.js";
import { PoUpdate, PurchaseOrderOut } from "../../../lib/inventory/schemas.js";
import { getPurchaseOrder, updatePurchaseOrder } from "../../../lib/inventory/po-service.js";

const path = "/api/purchase-orders/[id]";

export const GET = route(path, { auth: "staff", params: IdParams, output: PurchaseOrderOut, cache: { ttl: 86400, tags: ["purchase-orders"] } }, async ({ auth, params }) => {
  const po = await getPurchaseOrder(auth.tenant, params.id);
  return reply(po, { version: po.version });
});

export const PUT = route(path, { auth: "admin", errors: ["conflict", "invalid_transition", "precondition_failed", "precondition_required"], params: IdParams, body: PoUpdate, output: PurchaseOrderOut }, async ({ auth, params, body, request }) => {
  const { version, ...changes } = body;
  const po = await updatePurchaseOrder(auth, params.id, changes, expectedVersion(request, version));
  return reply(po, { version: po.version });
});

export const OPTIONS = preflight;
