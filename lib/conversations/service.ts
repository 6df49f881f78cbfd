import { getDb } from "../../db/client.js";
import { classifyDbError } from "../../db/errors.js";
import { newId, UUID_PATTERN } from "../../db/ids.js";
import type { AuthContext } from "../auth/session.js";
import { invalidate } from "../cache/response-cache.js";
import { actorOf } from "../events/outbox.js";
import { ApiError, conflict, notFound, staleVersion } from "../http/errors.js";
import { earlierResult, principalOf, refusalOf, type IdempotencyRequest } from "../idempotency/keys.js";
import { publishTyping } from "../events/typing.js";
import { checkAttachments } from "./attachments.js";
import * as repo from "./repo.js";
import type { InboundTypingInput, ConversationCreateInput, ConversationListInput, ConversationUpdateInput, InboundMessageInput, MarkReadInput, MessageCreateInput, MessageListInput, StatusReportInput } from "./schemas.js";

// Read markers and unread counts are per reader: the signed-in person, or the API key.
const readerOf = (auth: AuthContext) => principalOf(auth);

// Keyset cursors: opaque base64url JSON of the last row's sort key.
const badCursor = () => new ApiError("bad_request", "Invalid query.", [{ path: "cursor", message: "is not a valid cursor" }]);
const encode = (value: unknown) => Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
function decode(cursor: string): Record<string, unknown> {
  try {
    const value = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (typeof value !== "object" || value === null) throw badCursor();
    return value;
  } catch {
    throw badCursor();
  }
}

function conversationCursor(cursor: string | undefined): repo.ConversationCursor | undefined {
  if (cursor === undefined) return undefined;
  const { at, id } = decode(cursor);
  // `at` is Postgres's own text of a timestamptz (exact to the microsecond, which ISO from JS is not).
  if (typeof at !== "string" || !/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d{1,6})?[+-]\d\d(:\d\d)?$/.test(at) || typeof id !== "string" || !UUID_PATTERN.test(id)) throw badCursor();
  return { at, id };
}

function messageCursor(cursor: string | undefined, order: string): number | undefined {
  if (cursor === undefined) return undefined;
  const { seq, o } = decode(cursor);
  if (typeof seq !== "number" || !Number.isSafeInteger(seq) || seq < 0 || o !== order) throw badCursor();
  return seq;
}

/** Wakes the event streams (the write's events) and drops cached customer views when one was created. */
const touched = (tenantId: string, customers = false) => invalidate(tenantId, customers ? ["conversations", "customers"] : ["conversations"]);

export async function listConversations(auth: AuthContext, input: ConversationListInput) {
  const { db } = await getDb();
  const { items, next } = await repo.listConversations(db, auth.tenant.id, readerOf(auth), input, conversationCursor(input.cursor));
  return { items, pagination: { limit: input.limit, nextCursor: next ? encode(next) : null } };
}

export async function getConversation(auth: AuthContext, id: string) {
  const { db } = await getDb();
  const conversation = await repo.findConversation(db, auth.tenant.id, readerOf(auth), id);
  if (!conversation) throw notFound("Conversation");
  return conversation;
}

const unknownField = (path: string, what: string) => new ApiError("unprocessable", `The ${what} does not exist.`, [{ path, message: `unknown ${what}` }]);

/** The open thread for the customer and channel (created: false), or a new one. */
export async function openConversation(auth: AuthContext, input: ConversationCreateInput) {
  const { db } = await getDb();
  for (let attempt = 0; ; attempt++) {
    let outcome: repo.OpenOutcome;
    try {
      outcome = await repo.openConversation(db, auth.tenant.id, readerOf(auth), newId(), input, actorOf(auth));
    } catch (error) {
      // An inbound message opened the thread between this statement's snapshot and its insert.
      if (attempt === 0 && isOpenRace(error)) continue;
      throw error;
    }
    if ("unknownCustomer" in outcome) throw unknownField("customerId", "customer");
    if ("unknownOrder" in outcome) throw unknownField("orderId", "order");
    if ("raced" in outcome) {
      if (attempt === 0) continue;
      throw new ApiError("conflict", "The conversation was just opened by another request; retry.", undefined, { "Retry-After": "1" });
    }
    if (outcome.created) await touched(auth.tenant.id);
    return outcome;
  }
}

const isOpenRace = (error: unknown) => {
  const failure = classifyDbError(error);
  return failure?.kind === "unique_violation" && (failure.constraint === "conversations_open_key" || failure.constraint === "messages_external_key");
};

export async function updateConversation(auth: AuthContext, id: string, input: Omit<ConversationUpdateInput, "version">, expected: number | undefined) {
  const { db } = await getDb();
  let outcome: repo.ConversationWrite;
  try {
    outcome = await repo.updateConversation(db, auth.tenant.id, readerOf(auth), id, input, expected, actorOf(auth));
  } catch (error) {
    if (isOpenRace(error)) throw conflict("The customer already has an open conversation on this channel.", [{ path: "status", message: "another conversation is open" }]);
    throw error;
  }
  if ("missing" in outcome) throw notFound("Conversation");
  if ("unknownAssignee" in outcome) throw unknownField("assignedTo", "member");
  if ("unknownOrder" in outcome) throw unknownField("orderId", "order");
  if ("staleVersion" in outcome) throw staleVersion("conversation", outcome.staleVersion);
  await touched(auth.tenant.id);
  return outcome.conversation;
}

export async function listMessages(auth: AuthContext, conversationId: string, input: MessageListInput) {
  const { db } = await getDb();
  const result = await repo.listMessages(db, auth.tenant.id, conversationId, input, messageCursor(input.cursor, input.order));
  if (!result) throw notFound("Conversation");
  return { items: result.items, pagination: { limit: input.limit, nextCursor: result.next === undefined ? null : encode({ seq: result.next, o: input.order }) } };
}

export async function postMessage(auth: AuthContext, conversationId: string, input: MessageCreateInput, idempotency: IdempotencyRequest | undefined) {
  await checkAttachments(auth.tenant.id, input.attachments);
  const { db } = await getDb();
  let result: repo.PostResult;
  for (let attempt = 0; ; attempt++) {
    try {
      result = await repo.postMessage(db, auth.tenant.id, conversationId, { id: newId(), text: input.text, attachments: input.attachments, note: input.note, author: actorOf(auth) }, idempotency);
      break;
    } catch (error) {
      const failure = classifyDbError(error);
      // The channel's connector was deleted between the statement's snapshot and its delivery insert
      // (the foreign key caught it; nothing was kept): the second try sees no connector.
      if (attempt === 0 && failure?.kind === "foreign_key_violation" && failure.constraint === "deliveries_endpoint_id_delivery_endpoints_id_fk") continue;
      const refused = refusalOf(failure);
      if (!refused) throw error;
      if (refused.status === null || refused.status === undefined) throw notFound("Conversation");
      throw conflict("The conversation is closed; reopen it (PATCH status: open) to write in it.", [{ path: "status", message: "closed" }]);
    }
  }
  const earlier = await earlierResult(db, result.row, idempotency, auth.tenant.id, result.replayed, (id) => repo.findMessage(db, auth.tenant.id, id));
  if (earlier) return { message: earlier, replayed: true };
  await touched(auth.tenant.id);
  return { message: result.message!, replayed: false };
}

export async function markRead(auth: AuthContext, conversationId: string, input: MarkReadInput) {
  const { db } = await getDb();
  const outcome = await repo.markRead(db, auth.tenant.id, conversationId, readerOf(auth), input.upToMessageId);
  if ("missing" in outcome) throw notFound("Conversation");
  if ("unknownMessage" in outcome) throw unknownField("upToMessageId", "message in this conversation");
  return { conversationId, ...outcome };
}

/** POST /api/integrations/messages: 201 with the new message, 200 with the first one on a redelivery. */
export async function receiveInbound(auth: AuthContext, input: InboundMessageInput) {
  await checkAttachments(auth.tenant.id, input.attachments);
  const { db } = await getDb();
  for (let attempt = 0; ; attempt++) {
    let outcome: repo.InboundOutcome;
    try {
      outcome = await repo.receiveInbound(db, auth.tenant.id, { messageId: newId(), customerId: newId(), conversationId: newId() }, input, actorOf(auth));
    } catch (error) {
      // Staff opened the thread meanwhile (the unique open-thread index): the retry finds it.
      if (attempt < 2 && isOpenRace(error)) continue;
      throw error;
    }
    if ("raced" in outcome) {
      if (attempt < 2) continue;
      throw new ApiError("conflict", "The conversation changed while the message was stored; retry.", undefined, { "Retry-After": "1" });
    }
    if (outcome.created) await touched(auth.tenant.id, true);
    return outcome;
  }
}

export async function reportStatus(auth: AuthContext, messageId: string, input: StatusReportInput) {
  const { db } = await getDb();
  const outcome = await repo.reportStatus(db, auth.tenant.id, messageId, input.status, input.reason, actorOf(auth));
  if ("missing" in outcome) throw notFound("Message");
  if ("notOutbound" in outcome) {
    throw new ApiError("invalid_transition", "Only outbound messages have a delivery status.", [{ path: "status", message: "not an outbound message" }]);
  }
  if (outcome.applied) await touched(auth.tenant.id);
  return outcome;
}

/** Staff typing in a thread: shown on the event streams for ~5 s; nothing is written to the database. */
export async function staffTyping(auth: AuthContext, conversationId: string) {
  const { db } = await getDb();
  if (!(await repo.conversationExists(db, auth.tenant.id, conversationId))) throw notFound("Conversation");
  const actor = auth.apiKeyId ? ({ type: "api_key", id: auth.apiKeyId } as const) : ({ type: "user", id: auth.userId } as const);
  return { conversationId, expiresAt: await publishTyping(auth.tenant.id, conversationId, actor) };
}

/** A connector reporting the customer typing: shown in their open thread on that channel, if any. */
export async function customerTyping(auth: AuthContext, input: InboundTypingInput) {
  const { db } = await getDb();
  const thread = await repo.openThreadOf(db, auth.tenant.id, input.channel, input.from);
  if (!thread) return { conversationId: null, expiresAt: null };
  return { conversationId: thread.conversationId, expiresAt: await publishTyping(auth.tenant.id, thread.conversationId, { type: "customer", id: thread.customerId }) };
}
