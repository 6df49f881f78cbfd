import * as v from "valibot";
import { EVENT_TYPES } from "../events/catalog.js";
import { deliveryCursor, deliveryListOut, deliveryOut, deliveryStatusFilter, endpointOut, endpointUrl, replayWindow } from "../delivery/schema-parts.js";
import { limitField, optionalText, text, uuid, versionField } from "../http/inputs.js";
import { nullableString } from "../http/outputs.js";

const SUBSCRIBABLE = ["*", ...Object.keys(EVENT_TYPES)] as const;

const eventList = v.pipe(
  v.array(v.pipe(text(), v.picklist(SUBSCRIBABLE, "must be an event type of GET /api/events/catalog or \"*\"")), "must be an array of event types"),
  v.minLength(1, "must name at least one event type (or \"*\")"),
  v.maxLength(100, "must name at most 100 event types"),
  v.transform((types) => [...new Set(types)].sort()),
);

export const WebhookCreate = v.strictObject({
  url: endpointUrl,
  events: eventList,
  description: optionalText(500),
  enabled: v.optional(v.boolean("must be true or false"), true),
});
export type WebhookCreateInput = v.InferOutput<typeof WebhookCreate>;

export const WebhookUpdate = v.strictObject({
  url: v.optional(endpointUrl),
  events: v.optional(eventList),
  description: optionalText(500),
  enabled: v.optional(v.boolean("must be true or false")),
  version: versionField,
});
export type WebhookUpdateInput = v.InferOutput<typeof WebhookUpdate>;

export const WebhookParams = v.object({ id: uuid });
export const DeliveryParams = v.object({ id: uuid, deliveryId: uuid });

export const WebhookReplay = replayWindow();
export type WebhookReplayInput = v.InferOutput<typeof WebhookReplay>;

export const DeliveryQuery = v.strictObject({
  status: deliveryStatusFilter,
  limit: limitField,
  cursor: deliveryCursor,
});

export const WebhookOut = endpointOut({ url: v.string(), events: v.array(v.string()), description: nullableString });

export const WebhookCreatedOut = v.strictObject({ ...WebhookOut.entries, secret: v.string() });
export const WebhookListOut = v.strictObject({ items: v.array(WebhookOut) });
export const WebhookSecretOut = v.strictObject({ ...WebhookOut.entries, secret: v.string(), previousSecretExpiresAt: v.string() });

export const DeliveryOut = deliveryOut({ eventId: nullableString });
export const DeliveryListOut = deliveryListOut(DeliveryOut);
export const ReplayOut = v.strictObject({ requeued: v.number(), created: v.number() });
/** What one sweep of the delivery cron did. */
export const SweepOut = v.strictObject({ claimed: v.number(), delivered: v.number(), failed: v.number(), dead: v.number(), disabledEndpoints: v.number() });
