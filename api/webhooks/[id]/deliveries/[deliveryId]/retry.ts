import { reply } from "../../../../../lib/http/reply.js";
import { route, preflight } from "../../../../../lib/http/route.js";
import { DeliveryOut, DeliveryParams } from "../../../../../lib/webhooks/schemas.js";
import { retryDelivery } from "../../../../../lib/webhooks/service.js";

// Due now, from any state but in flight (dead letter included; a delivered one is sent again).
export const POST = route("/api/webhooks/[id]/deliveries/[deliveryId]/retry", { auth: "admin", params: DeliveryParams, output: DeliveryOut, status: 202 }, async ({ auth, params }) =>
  reply(await retryDelivery(auth, params.id, params.deliveryId), { status: 202 }),
);

export const OPTIONS = preflight;
