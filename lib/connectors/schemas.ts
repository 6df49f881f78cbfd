import * as v from "valibot";
import { MAX_URL_LENGTH, urlProblem } from "../delivery/guard.js";
import { limitField, text, uuid } from "../http/inputs.js";

/** Channels a connector can carry; `call` and `offline` are note-only (nothing to deliver to). */
export const CONNECTOR_CHANNELS = ["instagram", "facebook", "whatsapp", "web"] as const;
export type ConnectorChannel = (typeof CONNECTOR_CHANNELS)[number];

const channel = v.pipe(
  text(),
  v.picklist(CONNECTOR_CHANNELS, `must be one of ${CONNECTOR_CHANNELS.join(", ")} (call and offline are note-only channels)`),
);

// The same URL rules as webhooks: the length first, then the SSRF guard's static rules (scheme, IP
// literals, local names); addresses behind names are checked at every attempt (lib/delivery/send.ts).
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

export const ConnectorParams = v.object({ channel });
export const ConnectorDeliveryParams = v.object({ channel, deliveryId: uuid });

/** PUT replaces the connector's settings: `enabled` defaults to true, as on creation. */
export const ConnectorPut = v.strictObject({
  url: endpointUrl,
  enabled: v.optional(v.boolean("must be true or false"), true),
});
export type ConnectorPutInput = v.InferOutput<typeof ConnectorPut>;

const timestamp = v.pipe(text(), v.isoTimestamp("must be an ISO 8601 timestamp with a timezone, e.g. 2027-01-31T00:00:00Z"));

export const MAX_REPLAY_DAYS = 31;

/** A window of dead deliveries to send again: [from, to), `to` defaulting to now, at most 31 days. */
export const ConnectorReplay = v.pipe(
  v.strictObject({ from: timestamp, to: v.optional(timestamp) }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const from = Date.parse(dataset.value.from);
    const to = dataset.value.to ? Date.parse(dataset.value.to) : Date.now();
    const path: [v.ObjectPathItem] = [{ type: "object", origin: "value", input: dataset.value, key: "to", value: dataset.value.to }];
    if (!(to > from)) addIssue({ message: "must be after from", path });
    else if (to - from > MAX_REPLAY_DAYS * 86_400_000) addIssue({ message: `must be at most ${MAX_REPLAY_DAYS} days after from`, path });
  }),
);
export type ConnectorReplayInput = v.InferOutput<typeof ConnectorReplay>;

export const ConnectorDeliveryQuery = v.strictObject({
  status: v.optional(v.picklist(["pending", "sending", "delivered", "dead"], "must be pending, sending, delivered or dead")),
  messageId: v.optional(uuid),
  limit: limitField,
  cursor: v.optional(v.pipe(text(), v.regex(/^[A-Za-z0-9_-]{1,200}$/, "must be a cursor from pagination.nextCursor"))),
});
export type ConnectorDeliveryQueryInput = v.InferOutput<typeof ConnectorDeliveryQuery>;

// ---- output schemas (OpenAPI) -----------------------------------------------------------------

const str = v.string();
const nullableStr = v.nullable(v.string());

export const ConnectorOut = v.strictObject({
  id: str,
  channel: v.picklist(CONNECTOR_CHANNELS),
  url: str,
  enabled: v.boolean(),
  disabledReason: nullableStr,
  disabledAt: nullableStr,
  failingSince: nullableStr,
  version: v.number(),
  createdAt: str,
  updatedAt: str,
});

/** PUT: the new connector carries its signing secret (shown this once); an update does not. */
export const ConnectorPutOut = v.strictObject({ ...ConnectorOut.entries, secret: v.optional(str) });
export const ConnectorListOut = v.strictObject({ items: v.array(ConnectorOut) });
export const ConnectorSecretOut = v.strictObject({ ...ConnectorOut.entries, secret: str, previousSecretExpiresAt: str });

export const ConnectorDeliveryOut = v.strictObject({
  id: str,
  endpointId: str,
  messageId: nullableStr,
  messageStatus: nullableStr,
  eventType: str,
  status: v.picklist(["pending", "sending", "delivered", "dead"]),
  attempts: v.number(),
  lastAttemptAt: nullableStr,
  lastResponseStatus: v.nullable(v.number()),
  lastResponseBody: nullableStr,
  lastError: nullableStr,
  nextAttemptAt: nullableStr,
  deliveredAt: nullableStr,
  createdAt: str,
});
export const ConnectorDeliveryListOut = v.strictObject({
  items: v.array(ConnectorDeliveryOut),
  pagination: v.strictObject({ limit: v.number(), nextCursor: nullableStr }),
});
export const ConnectorReplayOut = v.strictObject({ requeued: v.number(), messages: v.number() });
