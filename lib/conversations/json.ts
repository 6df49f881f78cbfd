import { sql, type SQL } from "../../db/sql.js";
import { fromJson, toIso, toIsoOrNull, toNumber } from "../../db/values.js";

// Conversations and messages leave the database as JSON built in SQL, so a page, one thread or a
// write's result is one statement.

export type Direction = "inbound" | "outbound" | "note";
export type MessageStatus = "received" | "queued" | "sent" | "delivered" | "read" | "failed";

export interface Message {
  id: string;
  conversationId: string;
  seq: number;
  channel: string;
  direction: Direction;
  text: string;
  attachments: string[];
  author: { type: "user" | "api_key" | "customer"; id: string | null };
  status: MessageStatus;
  failureReason: string | null;
  externalId: string | null;
  sentAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface Conversation {
  id: string;
  customerId: string;
  customer: { id: string; name: string };
  channel: string;
  status: "open" | "closed";
  assignedTo: string | null;
  orderId: string | null;
  messageCount: number;
  /** Inbound messages after the caller's read marker. */
  unreadCount: number;
  lastMessage: { id: string; direction: string; text: string; status: string; createdAt: string } | null;
  lastMessageAt: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** jsonb for message row `m` (a table or a RETURNING CTE). */
export const messageJson = (m: string): SQL =>
  sql.raw(`jsonb_build_object('id', ${m}.id, 'conversationId', ${m}.conversation_id, 'seq', ${m}.seq, 'channel', ${m}.channel,
    'direction', ${m}.direction, 'text', ${m}.text, 'attachments', ${m}.attachments,
    'author', jsonb_build_object('type', ${m}.author_type, 'id', ${m}.author_id), 'status', ${m}.status,
    'failureReason', ${m}.failure_reason, 'externalId', ${m}.external_id, 'sentAt', ${m}.sent_at,
    'createdAt', ${m}.created_at, 'updatedAt', ${m}.updated_at)`);

/**
 * jsonb for conversation row `c` as events carry it: no per-member unread count, and the last
 * message only by id (the message itself may be in the same statement, invisible to subqueries).
 */
export const conversationEventJson = (c: string): SQL =>
  sql.raw(`jsonb_build_object('id', ${c}.id, 'customerId', ${c}.customer_id, 'channel', ${c}.channel, 'status', ${c}.status,
    'assignedTo', ${c}.assigned_to, 'orderId', ${c}.order_id, 'messageCount', ${c}.message_count, 'lastMessageId', ${c}.last_message_id,
    'lastMessageAt', ${c}.last_message_at, 'version', ${c}.version, 'createdAt', ${c}.created_at, 'updatedAt', ${c}.updated_at)`);

/** The reader's marker on conversation `c` (0: nothing read). */
export const readSeq = (c: string, readerId: string): SQL =>
  sql`coalesce((SELECT r.read_seq FROM conversation_reads r WHERE r.conversation_id = ${sql.raw(c)}.id AND r.reader_id = ${readerId}), 0)`;

/** jsonb for conversation row `c` as the API renders it for `readerId` (unread count, last message, customer). */
export const conversationJson = (c: string, readerId: string): SQL =>
  sql`jsonb_build_object('id', ${sql.raw(c)}.id, 'customerId', ${sql.raw(c)}.customer_id,
    'customer', (SELECT jsonb_build_object('id', cu.id, 'name', cu.name) FROM customers cu WHERE cu.id = ${sql.raw(c)}.customer_id),
    'channel', ${sql.raw(c)}.channel, 'status', ${sql.raw(c)}.status, 'assignedTo', ${sql.raw(c)}.assigned_to, 'orderId', ${sql.raw(c)}.order_id,
    'messageCount', ${sql.raw(c)}.message_count,
    'unreadCount', (SELECT count(*) FROM messages um WHERE um.conversation_id = ${sql.raw(c)}.id AND um.direction = 'inbound' AND um.seq > ${readSeq(c, readerId)}),
    'lastMessage', (SELECT jsonb_build_object('id', lm.id, 'direction', lm.direction, 'text', left(lm.text, 200), 'status', lm.status, 'createdAt', lm.created_at)
      FROM messages lm WHERE lm.id = ${sql.raw(c)}.last_message_id),
    'lastMessageAt', ${sql.raw(c)}.last_message_at, 'version', ${sql.raw(c)}.version,
    'createdAt', ${sql.raw(c)}.created_at, 'updatedAt', ${sql.raw(c)}.updated_at)`;

export function toMessage(value: unknown): Message {
  const m = fromJson(value);
  const author = m.author as { type: Message["author"]["type"]; id: string | null };
  return {
    id: String(m.id),
    conversationId: String(m.conversationId),
    seq: toNumber(m.seq),
    channel: String(m.channel),
    direction: m.direction as Direction,
    text: String(m.text),
    attachments: (fromJson<string[]>(m.attachments) ?? []).map(String),
    author: { type: author.type, id: author.id ?? null },
    status: m.status as MessageStatus,
    failureReason: (m.failureReason as string | null) ?? null,
    externalId: (m.externalId as string | null) ?? null,
    sentAt: toIsoOrNull(m.sentAt),
    createdAt: toIso(m.createdAt),
    updatedAt: toIso(m.updatedAt),
  };
}

export function toConversation(value: unknown): Conversation {
  const c = fromJson(value);
  const last = c.lastMessage as Record<string, unknown> | null;
  const customer = c.customer as { id: string; name: string };
  return {
    id: String(c.id),
    customerId: String(c.customerId),
    customer: { id: String(customer.id), name: String(customer.name) },
    channel: String(c.channel),
    status: c.status as Conversation["status"],
    assignedTo: (c.assignedTo as string | null) ?? null,
    orderId: (c.orderId as string | null) ?? null,
    messageCount: toNumber(c.messageCount),
    unreadCount: toNumber(c.unreadCount),
    lastMessage: last
      ? { id: String(last.id), direction: String(last.direction), text: String(last.text), status: String(last.status), createdAt: toIso(last.createdAt) }
      : null,
    lastMessageAt: toIsoOrNull(c.lastMessageAt),
    version: toNumber(c.version),
    createdAt: toIso(c.createdAt),
    updatedAt: toIso(c.updatedAt),
  };
}
