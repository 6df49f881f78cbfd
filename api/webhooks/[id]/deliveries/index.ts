import { route, preflight } from "../../../../lib/http/route.js";
import { DeliveryListOut, DeliveryQuery, WebhookParams } from "../../../../lib/webhooks/schemas.js";
import { listDeliveries } from "../../../../lib/webhooks/service.js";

export const GET = route("/api/webhooks/[id]/deliveries", { auth: "admin", params: WebhookParams, query: DeliveryQuery, output: DeliveryListOut }, ({ auth, params, query }) =>
  listDeliveries(auth, params.id, { status: query.status, limit: Number(query.limit), cursor: query.cursor }),
);

export const OPTIONS = preflight;
