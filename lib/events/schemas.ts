import * as v from "valibot";
import { countOut, timestampOut, uuidOut } from "../http/outputs.js";
import { limitField, text } from "../http/inputs.js";
import { EVENT_TYPES, isEventType } from "./catalog.js";
import { parseCursor } from "./cursor.js";

// Query inputs of the event routes. Type patterns: a catalog type ("order.created"), or a prefix
// ending in "*" ("order.*", "item.stock_*", "*"); several, comma-separated.

const TYPE_PATTERN = /^[a-z_]+(\.[a-z_]*)?\*?$|^\*$/;

export const typePatterns = v.optional(
  v.pipe(
    text(),
    v.maxLength(1000, "is too long"),
    v.transform((s) => s.split(",").map((p) => p.trim()).filter(Boolean)),
    v.minLength(1, "must name at least one event type"),
    v.maxLength(20, "may name at most 20 patterns"),
    v.check(
      (patterns) => patterns.every((p) => TYPE_PATTERN.test(p) && (p.endsWith("*") ? Object.keys(EVENT_TYPES).some((t) => t.startsWith(p.slice(0, -1))) : isEventType(p))),
      "must be event types from the catalog or prefixes ending in * (e.g. order.*)",
    ),
  ),
);

export const cursorField = v.pipe(
  text(),
  v.maxLength(64, "is not an event cursor"),
  v.check((s) => parseCursor(s) !== undefined, "is not an event cursor"),
  v.transform((s) => parseCursor(s)!),
);

const uuidish = /^[0-9a-f-]{36}$/i;

export const EventListQuery = v.object({
  type: typePatterns,
  /** "order" or "order:<id>". */
  resource: v.optional(
    v.pipe(
      text(),
      v.regex(/^[a-z_]{1,32}(:[0-9a-f-]{36})?$/i, "must be a resource type, optionally with :<id> (e.g. order:<uuid>)"),
      v.transform((s) => {
        const [type, id] = s.split(":") as [string, string | undefined];
        return { type: type.toLowerCase(), id: id?.toLowerCase() };
      }),
    ),
  ),
  /** "user", "api_key", "system", "public", optionally with :<id>. */
  actor: v.optional(
    v.pipe(
      text(),
      v.regex(/^(user|api_key|system|public)(:[0-9a-f-]{36})?$/i, "must be user, api_key, system or public, optionally with :<id>"),
      v.transform((s) => {
        const [type, id] = s.split(":") as [string, string | undefined];
        return { type: type.toLowerCase(), id: id && uuidish.test(id) ? id.toLowerCase() : undefined };
      }),
    ),
  ),
  from: v.optional(v.pipe(text(), v.isoTimestamp("must be an ISO 8601 timestamp with a zone, e.g. 2026-01-31T00:00:00Z"))),
  to: v.optional(v.pipe(text(), v.isoTimestamp("must be an ISO 8601 timestamp with a zone, e.g. 2026-01-31T00:00:00Z"))),
  cursor: v.optional(cursorField),
  limit: limitField,
});
export type EventListInput = v.InferOutput<typeof EventListQuery>;

export const EventStreamQuery = v.object({
  /** Resume after this cursor (Last-Event-ID wins when both are sent: EventSource keeps the URL). */
  after: v.optional(cursorField),
  types: typePatterns,
  // ?token= is a credential, not an input: the route's credential hook (stream-token.ts) reads it.
});
export type EventStreamInput = v.InferOutput<typeof EventStreamQuery>;

// Output schemas.
export const EventOut = v.strictObject({
  id: uuidOut,
  type: v.string(),
  occurredAt: timestampOut,
  tenantId: uuidOut,
  actor: v.strictObject({ type: v.picklist(["user", "api_key", "system", "public"]), id: v.nullable(v.string()) }),
  resource: v.strictObject({ type: v.string(), id: v.string() }),
  data: v.record(v.string(), v.unknown()),
  cursor: v.string(),
});
export const EventPageOut = v.strictObject({ items: v.array(EventOut), pagination: v.strictObject({ limit: countOut, nextCursor: v.nullable(v.string()) }) });
export const EventCatalogOut = v.strictObject({
  version: v.string(),
  envelope: v.record(v.string(), v.unknown()),
  types: v.array(v.strictObject({ type: v.string(), resource: v.string(), description: v.string(), data: v.record(v.string(), v.unknown()) })),
});
export const StreamTokenOut = v.strictObject({ token: v.string(), expiresAt: timestampOut });
export const RetentionOut = v.strictObject({ retentionDays: countOut, deleted: countOut });
