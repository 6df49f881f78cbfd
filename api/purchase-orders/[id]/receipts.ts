import { IdParams } from "../../../lib/http/inputs.js";
import { reply } from "../../../lib/http/reply.js";
import { route, preflight } from "../../../lib/http/route.js";
import { PoReceipt, ReceiptOut } from "../../../lib/inventory/schemas.js";
import { receivePurchaseOrder } from "../../../lib/inventory/po-service.js";

// Staff receive deliveries; creating and ordering purchase orders is an admin's.
export const POST = route("/api/purchase-orders/[id]/receipts", { auth: "staff", status: 201, errors: ["conflict", "invalid_transition"], params: IdParams, body: PoReceipt, output: ReceiptOut, idempotent: true }, async ({ auth, params, body, idempotency }) => {
  const { receipt, purchaseOrder, replayed } = await receivePurchaseOrder(auth, params.id, body, idempotency);
  return reply({ receipt, purchaseOrder }, { status: 201, headers: replayed ? { "Idempotent-Replayed": "true" } : {} });
});

export const OPTIONS = preflight;
