import { route, preflight } from "../../../../../lib/http/route.js";
import { ConnectorDeliveryListOut, ConnectorDeliveryQuery, ConnectorParams } from "../../../../../lib/connectors/schemas.js";
import { listDeliveries } from "../../../../../lib/connectors/service.js";

// Newest first, each with its message's current status; filter by status or messageId.
export const GET = route("/api/integrations/connectors/[channel]/deliveries", { auth: "admin", params: ConnectorParams, query: ConnectorDeliveryQuery, output: ConnectorDeliveryListOut }, ({ auth, params, query }) =>
  listDeliveries(auth, params.channel, query),
);

export const OPTIONS = preflight;
