import * as v from "valibot";
import { nullableString } from "../http/outputs.js";
import { text } from "../http/inputs.js";
import { MAX_URL_LENGTH, urlProblem } from "./guard.js";

// Schema pieces every kind of delivery endpoint (webhooks, connectors) uses alike, because the engine
// stores and renders their endpoints and deliveries alike. Deliberately not a `schemas.ts`: every
// schema such a file exports becomes a named OpenAPI component, $ref'd in place of the kinds' own.
// For the same reason the whole-body schemas are built per kind (replayWindow, endpointOut,
// deliveryOut): each kind's body keeps its own component name.

export const DELIVERY_STATUSES = ["pending", "sending", "delivered", "dead"] as const;

// Checked twice: the length first (a 10 KB string is refused before it is parsed), then the SSRF
// guard's static rules (scheme, IP literals, local names). Addresses behind names are checked at
// every attempt, when they are resolved (lib/delivery/send.ts).
export const endpointUrl = v.pipe(
  text(),
  v.trim(),
  v.maxLength(MAX_URL_LENGTH, `must be at most ${MAX_URL_LENGTH} characters`),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const problem = urlProblem(dataset.value);
    if (problem) addIssue({ message: problem });
  }),
);

const timestamp = v.pipe(text(), v.isoTimestamp("must be an ISO 8601 timestamp with a timezone, e.g. 2027-01-31T00:00:00Z"));

export const MAX_REPLAY_DAYS = 31;

/** A replay's window: [from, to), `to` defaulting to now, at most MAX_REPLAY_DAYS long. */
export const replayWindow = () =>
  v.pipe(
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

/** Query fields of a delivery listing (lib/delivery/cursor.ts reads the cursor). */
export const deliveryStatusFilter = v.optional(v.picklist(DELIVERY_STATUSES, "must be pending, sending, delivered or dead"));
export const deliveryCursor = v.optional(v.pipe(text(), v.regex(/^[A-Za-z0-9_-]{1,200}$/, "must be a cursor from pagination.nextCursor")));

// ---- output schemas (OpenAPI) -----------------------------------------------------------------

/** An endpoint as its kind renders it: the id, the kind's own fields, then the engine's switch and failure record. */
export const endpointOut = <E extends v.ObjectEntries>(own: E) =>
  v.strictObject({
    id: v.string(),
    ...own,
    enabled: v.boolean(),
    disabledReason: nullableString,
    disabledAt: nullableString,
    failingSince: nullableString,
    version: v.number(),
    createdAt: v.string(),
    updatedAt: v.string(),
  });

/** A delivery as its kind renders it: what it carries (an event, a message) between its ids and its attempts. */
export const deliveryOut = <E extends v.ObjectEntries>(carried: E) =>
  v.strictObject({
    id: v.string(),
    endpointId: v.string(),
    ...carried,
    eventType: v.string(),
    status: v.picklist(DELIVERY_STATUSES),
    attempts: v.number(),
    lastAttemptAt: nullableString,
    lastResponseStatus: v.nullable(v.number()),
    lastResponseBody: nullableString,
    lastError: nullableString,
    nextAttemptAt: nullableString,
    deliveredAt: nullableString,
    createdAt: v.string(),
  });

/** A page of a delivery listing: newest first, `nextCursor` for the next. */
export const deliveryListOut = <T extends v.GenericSchema>(delivery: T) =>
  v.strictObject({ items: v.array(delivery), pagination: v.strictObject({ limit: v.number(), nextCursor: nullableString }) });
