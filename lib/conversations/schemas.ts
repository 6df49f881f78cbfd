import * as v from "valibot";
import { CHANNELS } from "../../db/enums.js";
import { limitField, text, uuid, versionField } from "../http/inputs.js";

export const MAX_TEXT = 5000;
export const MAX_ATTACHMENTS = 10;

const channel = v.picklist(CHANNELS, `must be one of ${CHANNELS.join(", ")}`);

/** Message text: 1–5,000 characters after trimming (NUL and lone surrogates refused by text()). */
export const messageText = v.pipe(text(), v.trim(), v.minLength(1, "must not be empty"), v.maxLength(MAX_TEXT, `must be at most ${MAX_TEXT} characters`));

/** Blob URLs; whether they are this tenant's blobs is checked by the service (attachments.ts). */
const attachments = v.optional(
  v.pipe(
    v.array(v.pipe(text(), v.maxLength(2048, "must be at most 2048 characters"), v.url("must be a URL")), "must be a list of blob URLs"),
    v.maxLength(MAX_ATTACHMENTS, `must have at most ${MAX_ATTACHMENTS} attachments`),
  ),
  [],
);

const cursor = v.optional(v.pipe(text(), v.maxLength(200, "is not a valid cursor")));

export const ConversationListQuery = v.object({
  status: v.optional(v.picklist(["open", "closed"], "must be open or closed")),
  channel: v.optional(channel),
  customerId: v.optional(uuid),
  assignedTo: v.optional(uuid),
  unread: v.optional(v.pipe(v.picklist(["true", "false"], "must be true or false"), v.transform((s) => s === "true"))),
  limit: limitField,
  cursor,
});
export type ConversationListInput = v.InferOutput<typeof ConversationListQuery>;

export const ConversationCreate = v.strictObject({ customerId: uuid, channel, orderId: v.optional(uuid) });
export type ConversationCreateInput = v.InferOutput<typeof ConversationCreate>;

export const ConversationUpdate = v.pipe(
  v.strictObject({
    status: v.optional(v.picklist(["open", "closed"], "must be open or closed")),
    assignedTo: v.optional(v.nullable(uuid)),
    orderId: v.optional(v.nullable(uuid)),
    version: versionField,
  }),
  v.check((input) => Object.keys(input).some((key) => key !== "version"), "send status, assignedTo or orderId"),
);
export type ConversationUpdateInput = v.InferOutput<typeof ConversationUpdate>;

export const MessageListQuery = v.object({
  order: v.optional(v.picklist(["newest", "oldest"], "must be newest or oldest"), "newest"),
  limit: limitField,
  cursor,
});
export type MessageListInput = v.InferOutput<typeof MessageListQuery>;

export const MessageCreate = v.strictObject({
  text: messageText,
  attachments,
  /** An internal note: never sent to the customer, whatever the channel. */
  note: v.optional(v.boolean("must be true or false"), false),
});
export type MessageCreateInput = v.InferOutput<typeof MessageCreate>;

export const MarkRead = v.strictObject({ upToMessageId: v.optional(uuid) });
export type MarkReadInput = v.InferOutput<typeof MarkRead>;

const optionalContact = (max: number) => v.optional(v.pipe(text(), v.trim(), v.maxLength(max, `must be at most ${max} characters`)));

export const InboundMessage = v.pipe(
  v.strictObject({
    channel,
    externalId: v.pipe(text(), v.trim(), v.minLength(1, "must not be empty"), v.maxLength(200, "must be at most 200 characters")),
    from: v.strictObject({
      handle: optionalContact(100),
      phone: v.optional(v.pipe(text(), v.trim(), v.maxLength(30, "must be at most 30 characters"), v.regex(/^[+0-9 ().-]*[0-9][+0-9 ().-]*$/, "must be a phone number"))),
      email: v.optional(v.pipe(text(), v.trim(), v.toLowerCase(), v.maxLength(254, "must be at most 254 characters"), v.email("must be an email address"))),
      name: optionalContact(100),
    }),
    text: messageText,
    sentAt: v.optional(v.pipe(text(), v.isoTimestamp("must be an ISO 8601 timestamp with a zone"))),
    attachments,
  }),
  v.forward(
    v.check((m) => Boolean(m.from.handle || m.from.phone || m.from.email), "needs a handle, phone or email to find the customer by"),
    ["from"],
  ),
);
export type InboundMessageInput = v.InferOutput<typeof InboundMessage>;

export const MESSAGE_STATUS_REPORTS = ["delivered", "read", "failed"] as const;
export const StatusReport = v.pipe(
  v.strictObject({
    status: v.picklist(MESSAGE_STATUS_REPORTS, `must be one of ${MESSAGE_STATUS_REPORTS.join(", ")}`),
    reason: v.optional(v.pipe(text(), v.trim(), v.maxLength(500, "must be at most 500 characters"))),
  }),
  v.forward(
    v.check((r) => r.status === "failed" || r.reason === undefined, "only a failed report carries a reason"),
    ["reason"],
  ),
);
export type StatusReportInput = v.InferOutput<typeof StatusReport>;

export const InboundTyping = v.pipe(
  v.strictObject({
    channel,
    from: v.strictObject({ handle: optionalContact(100), phone: optionalContact(30), email: optionalContact(254) }),
  }),
  v.forward(
    v.check((m) => Boolean(m.from.handle || m.from.phone || m.from.email), "needs a handle, phone or email to find the customer by"),
    ["from"],
  ),
);
export type InboundTypingInput = v.InferOutput<typeof InboundTyping>;
export const TypingOut = v.strictObject({ conversationId: nullableStrOut(), expiresAt: nullableStrOut() });

export const PublicMessage = v.strictObject({ text: messageText });

/** A tracking token in the path: base64url of 32 bytes, nothing else is worth a lookup. */
export const TrackingParams = v.object({ token: v.pipe(text(), v.regex(/^[A-Za-z0-9_-]{43}$/, "is not a tracking token")) });

// ---- output schemas (OpenAPI) -----------------------------------------------------------------

function nullableStrOut() {
  return v.nullable(v.string());
}

const str = v.string();
const nullableStr = v.nullable(v.string());
const int = v.number();

export const MessageOut = v.strictObject({
  id: str,
  conversationId: str,
  seq: int,
  channel: str,
  direction: v.picklist(["inbound", "outbound", "note"]),
  text: str,
  attachments: v.array(str),
  author: v.strictObject({ type: v.picklist(["user", "api_key", "customer"]), id: nullableStr }),
  status: v.picklist(["received", "queued", "sent", "delivered", "read", "failed"]),
  failureReason: nullableStr,
  externalId: nullableStr,
  sentAt: nullableStr,
  createdAt: str,
  updatedAt: str,
});

export const ConversationOut = v.strictObject({
  id: str,
  customerId: str,
  customer: v.strictObject({ id: str, name: str }),
  channel: str,
  status: v.picklist(["open", "closed"]),
  assignedTo: nullableStr,
  orderId: nullableStr,
  messageCount: int,
  unreadCount: int,
  lastMessage: v.nullable(v.strictObject({ id: str, direction: str, text: str, status: str, createdAt: str })),
  lastMessageAt: nullableStr,
  version: int,
  createdAt: str,
  updatedAt: str,
});

export const ConversationListOut = v.strictObject({ items: v.array(ConversationOut), pagination: v.strictObject({ limit: int, nextCursor: nullableStr }) });
export const MessageListOut = v.strictObject({ items: v.array(MessageOut), pagination: v.strictObject({ limit: int, nextCursor: nullableStr }) });
export const ReadOut = v.strictObject({ conversationId: str, readSeq: int, unreadCount: int });
export const InboundOut = v.strictObject({ message: MessageOut, conversationId: str, customerId: str, created: v.boolean() });
export const StatusOut = v.strictObject({ message: MessageOut, applied: v.boolean() });
export const TrackingLinkOut = v.strictObject({ token: str, expiresAt: nullableStr, url: v.optional(str) });
export const PublicOrderOut = v.strictObject({
  order: v.strictObject({
    number: int,
    status: str,
    createdAt: str,
    timeline: v.array(v.strictObject({ status: str, at: str })),
    lines: v.array(v.strictObject({ name: str, quantity: int, unitPriceCents: int, lineTotalCents: int })),
    totalCents: int,
  }),
  shop: v.strictObject({ name: str }),
  messages: v.array(v.strictObject({ id: str, direction: v.picklist(["inbound", "outbound"]), text: str, createdAt: str })),
  expiresAt: nullableStr,
});
export const PublicMessageOut = v.strictObject({ id: str, direction: v.literal("inbound"), text: str, createdAt: str });
