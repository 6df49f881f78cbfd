import { reply } from "../../../../../../lib/http/reply.js";
import { route, preflight } from "../../../../../../lib/http/route.js";
import { ConnectorDeliveryOut, ConnectorDeliveryParams } from "../../../../../../lib/connectors/schemas.js";
import { retryDelivery } from "../../../../../../lib/connectors/service.js";

// Due now, from any state but in flight (dead letter included; a delivered one is sent again). A
// failed message goes back to queued.
export const POST = route("/api/integrations/connectors/[channel]/deliveries/[deliveryId]/retry", { auth: "admin", params: ConnectorDeliveryParams, output: ConnectorDeliveryOut, status: 202 }, async ({ auth, params }) =>
  reply(await retryDelivery(auth, params.channel, params.deliveryId), { status: 202 }),
);

export const OPTIONS = preflight;
