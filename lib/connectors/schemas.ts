import * as v from "valibot";
import { deliveryCursor, deliveryListOut, deliveryOut, deliveryStatusFilter, endpointOut, endpointUrl, replayWindow } from "../delivery/schema-parts.js";
import { limitField, text, uuid } from "../http/inputs.js";
import { nullableString } from "../http/outputs.js";

/** Channels a connector can carry; `call` and `offline` are note-only (nothing to deliver to). */
export const CONNECTOR_CHANNELS = ["instagram", "facebook", "whatsapp", "web"] as const;
export type ConnectorChannel = (typeof CONNECTOR_CHANNELS)[number];

const channel = v.pipe(
  text(),
  v.picklist(CONNECTOR_CHANNELS, `must be one of ${CONNECTOR_CHANNELS.join(", ")} (call and offline are note-only channels)`),
);

export const ConnectorParams = v.object({ channel });
export const ConnectorDeliveryParams = v.object({ channel, deliveryId: uuid });

/** PUT replaces the connector's settings: `enabled` defaults to true, as on creation. */
export const ConnectorPut = v.strictObject({
  url: endpointUrl,
  enabled: v.optional(v.boolean("must be true or false"), true),
});
export type ConnectorPutInput = v.InferOutput<typeof ConnectorPut>;

/** A window of dead deliveries to send again. */
export const ConnectorReplay = replayWindow();
export type ConnectorReplayInput = v.InferOutput<typeof ConnectorReplay>;

export const ConnectorDeliveryQuery = v.strictObject({
  status: deliveryStatusFilter,
  messageId: v.optional(uuid),
  limit: limitField,
  cursor: deliveryCursor,
});
export type ConnectorDeliveryQueryInput = v.InferOutput<typeof ConnectorDeliveryQuery>;

// ---- output schemas (OpenAPI) -----------------------------------------------------------------

const str = v.string();

export const ConnectorOut = endpointOut({ channel: v.picklist(CONNECTOR_CHANNELS), url: str });

/** PUT: the new connector carries its signing secret (shown this once); an update does not. */
export const ConnectorPutOut = v.strictObject({ ...ConnectorOut.entries, secret: v.optional(str) });
export const ConnectorListOut = v.strictObject({ items: v.array(ConnectorOut) });
export const ConnectorSecretOut = v.strictObject({ ...ConnectorOut.entries, secret: str, previousSecretExpiresAt: str });

export const ConnectorDeliveryOut = deliveryOut({ messageId: nullableString, messageStatus: nullableString });
export const ConnectorDeliveryListOut = deliveryListOut(ConnectorDeliveryOut);
export const ConnectorReplayOut = v.strictObject({ requeued: v.number(), messages: v.number() });
