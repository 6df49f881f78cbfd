import { IdParams } from "../../../lib/http/inputs.js";
import { expectedVersion } from "../../../lib/http/preconditions.js";
import { reply } from "../../../lib/http/reply.js";
import { route, preflight } from "../../../lib/http/route.js";
import { PoStatusChange, PurchaseOrderOut } from "../../../lib/inventory/schemas.js";
import { setPurchaseOrderStatus } from "../../../lib/inventory/po-service.js";

export const PATCH = route("/api/purchase-orders/[id]/status", { auth: "admin", errors: ["conflict", "invalid_transition", "precondition_failed", "precondition_required"], params: IdParams, body: PoStatusChange, output: PurchaseOrderOut }, async ({ auth, params, body, request }) => {
  const po = await setPurchaseOrderStatus(auth, params.id, body, expectedVersion(request, body.version));
  return reply(po, { version: po.version });
});

export const OPTIONS = preflight;
