import * as v from "valibot";
import { EVENT_TYPES } from "../events/catalog.js";
import { urlProblem, MAX_URL_LENGTH } from "../delivery/guard.js";
import { limitField, optionalText, text, uuid, versionField } from "../http/inputs.js";

const SUBSCRIBABLE = ["*", ...Object.keys(EVENT_TYPES)] as const;

// Checked twice: the length first (a 10 KB string is refused before it is parsed), then the SSRF
// guard's static rules (scheme, IP literals, local names). Addresses behind names are checked at
// every attempt, when they are resolved (lib/delivery/send.ts).
const endpointUrl = v.pipe(
  text(),
  v.trim(),
  v.maxLength(MAX_URL_LENGTH, `must be at most ${MAX_URL_LENGTH} characters`),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const problem = urlProblem(dataset.value);
    if (problem) addIssue({ message: problem });
  }),
);

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

const timestamp = v.pipe(text(), v.isoTimestamp("must be an ISO 8601 timestamp with a timezone, e.g. 2027-01-31T00:00:00Z"));

export const MAX_REPLAY_DAYS = 31;

export const WebhookReplay = v.pipe(
  v.strictObject({ from: timestamp, to: v.optional(timestamp) }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const from = Date.parse(dataset.value.from);
    const to = dataset.value.to ? Date.parse(dataset.value.to) : Date.now();
    if (!(to > from)) addIssue({ message: "must be after from", path: [{ type: "object", origin: "value", input: dataset.value, key: "to", value: dataset.value.to }] });
    else if (to - from > MAX_REPLAY_DAYS * 86_400_000) addIssue({ message: `must be at most ${MAX_REPLAY_DAYS} days after from`, path: [{ type: "object", origin: "value", input: dataset.value, key: "to", value: dataset.value.to }] });
  }),
);
export type WebhookReplayInput = v.InferOutput<typeof WebhookReplay>;

export const DeliveryQuery = v.strictObject({
  status: v.optional(v.picklist(["pending", "sending", "delivered", "dead"], "must be pending, sending, delivered or dead")),
  limit: limitField,
  cursor: v.optional(v.pipe(text(), v.regex(/^[A-Za-z0-9_-]{1,200}$/, "must be a cursor from pagination.nextCursor"))),
});

const nullableString = v.nullable(v.string());

export const WebhookOut = v.strictObject({
  id: v.string(),
  url: v.string(),
  events: v.array(v.string()),
  description: nullableString,
  enabled: v.boolean(),
  disabledReason: nullableString,
  disabledAt: nullableString,
  failingSince: nullableString,
  version: v.number(),
  createdAt: v.string(),
  updatedAt: v.string(),
});

export const WebhookCreatedOut = v.strictObject({ ...WebhookOut.entries, secret: v.string() });
export const WebhookListOut = v.strictObject({ items: v.array(WebhookOut) });
export const WebhookSecretOut = v.strictObject({ ...WebhookOut.entries, secret: v.string(), previousSecretExpiresAt: v.string() });

export const DeliveryOut = v.strictObject({
  id: v.string(),
  endpointId: v.string(),
  eventId: nullableString,
  eventType: v.string(),
  status: v.picklist(["pending", "sending", "delivered", "dead"]),
  attempts: v.number(),
  lastAttemptAt: nullableString,
  lastResponseStatus: v.nullable(v.number()),
  lastResponseBody: nullableString,
  lastError: nullableString,
  nextAttemptAt: nullableString,
  deliveredAt: nullableString,
  createdAt: v.string(),
});
export const DeliveryListOut = v.strictObject({ items: v.array(DeliveryOut), pagination: v.strictObject({ limit: v.number(), nextCursor: nullableString }) });
export const ReplayOut = v.strictObject({ requeued: v.number(), created: v.number() });
/** What one sweep of the delivery cron did. */
export const SweepOut = v.strictObject({ claimed: v.number(), delivered: v.number(), failed: v.number(), dead: v.number(), disabledEndpoints: v.number() });
