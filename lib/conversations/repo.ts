import { sql, type SQL } from "../../db/sql.js";
import { atomic, query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { toNumber } from "../../db/values.js";
import { eventsCte, type Actor } from "../events/outbox.js";
import { gatedStatement, type IdempotencyRequest } from "../idempotency/keys.js";
import { enqueueCte } from "../delivery/repo.js";
import { conversationEventJson, conversationJson, messageJson, toConversation, toMessage, type Conversation, type Message } from "./json.js";
import type { ConversationCreateInput, ConversationListInput, ConversationUpdateInput, InboundMessageInput, MessageListInput } from "./schemas.js";

// Every request is one statement (or one atomic batch: inbound messages take a lock first). A
// thread's message sequence is its `message_count`, bumped by an UPDATE of the thread row in the
// message's own statement: the row lock orders the messages of one thread, so `seq` order is commit
// order and a read marker ("up to seq n") is exact under any concurrency.

/** "Newest activity first" key of conversation `c`. */
const activity = (c: string) => sql.raw(`coalesce(${c}.last_message_at, ${c}.created_at)`);

export interface ConversationCursor {
  at: string;
  id: string;
}

export async function listConversations(db: Db, tenantId: string, readerId: string, input: ConversationListInput, after: ConversationCursor | undefined) {
  const filters: SQL[] = [sql`c.tenant_id = ${tenantId}`];
  if (input.status) filters.push(sql`c.status = ${input.status}`);
  if (input.channel) filters.push(sql`c.channel = ${input.channel}`);
  if (input.customerId) filters.push(sql`c.customer_id = ${input.customerId}`);
  if (input.assignedTo) filters.push(sql`c.assigned_to = ${input.assignedTo}`);
  const marker = sql`coalesce((SELECT r.read_seq FROM conversation_reads r WHERE r.conversation_id = c.id AND r.reader_id = ${readerId}), 0)`;
  if (input.unread === true) filters.push(sql`c.last_inbound_seq > ${marker}`);
  if (input.unread === false) filters.push(sql`c.last_inbound_seq <= ${marker}`);
  if (after) filters.push(sql`(${activity("c")}, c.id) < (${after.at}::timestamptz, ${after.id}::uuid)`);
  const rows = await query(
    db,
    sql`SELECT ${conversationJson("c", readerId)} AS conversation, ${activity("c")}::text AS at, c.id
        FROM conversations c WHERE ${sql.join(filters, sql` AND `)}
        ORDER BY ${activity("c")} DESC, c.id DESC LIMIT ${input.limit}`,
  );
  const last = rows.at(-1);
  return { items: rows.map((r) => toConversation(r.conversation)), next: rows.length === input.limit && last ? { at: String(last.at), id: String(last.id) } : undefined };
}

export async function findConversation(db: Db, tenantId: string, readerId: string, id: string): Promise<Conversation | undefined> {
  const rows = await query(db, sql`SELECT ${conversationJson("c", readerId)} AS conversation FROM conversations c WHERE c.tenant_id = ${tenantId} AND c.id = ${id}`);
  return rows[0] ? toConversation(rows[0].conversation) : undefined;
}

/** CTE `opened_events`: conversation.opened for each row of `source`. */
const openedEvents = (tenantId: string, actor: Actor, source: string) =>
  eventsCte("opened_events", tenantId, actor, sql`SELECT 'conversation.opened' AS type, 'conversation' AS resource_type, o.id AS resource_id, jsonb_build_object('conversation', ${conversationEventJson("o")}) AS data FROM ${sql.raw(source)} o`);

export type OpenOutcome =
  | { conversation: Conversation; created: boolean }
  | { unknownCustomer: true }
  | { unknownOrder: true }
  /** Another request opened the thread while this statement ran: look again. */
  | { raced: true };

/** The open thread of (customer, channel), or a new one. */
export async function openConversation(db: Db, tenantId: string, readerId: string, id: string, input: ConversationCreateInput, actor: Actor): Promise<OpenOutcome> {
  const orderId = input.orderId ?? null;
  const rows = await query(
    db,
    sql`
    WITH cust AS (SELECT cu.id FROM customers cu WHERE cu.tenant_id = ${tenantId} AND cu.id = ${input.customerId}),
    ord AS (SELECT o.id FROM orders o WHERE o.tenant_id = ${tenantId} AND o.id = ${orderId}::uuid),
    existing AS (SELECT c.id FROM conversations c WHERE c.tenant_id = ${tenantId} AND c.customer_id = ${input.customerId} AND c.channel = ${input.channel} AND c.status = 'open'),
    inserted AS (
      INSERT INTO conversations (id, tenant_id, customer_id, channel, order_id, created_by)
      SELECT ${id}, ${tenantId}, cust.id, ${input.channel}, (SELECT id FROM ord), ${actor.id}
      FROM cust WHERE NOT EXISTS (SELECT 1 FROM existing) AND (${orderId}::uuid IS NULL OR EXISTS (SELECT 1 FROM ord))
      ON CONFLICT (tenant_id, customer_id, channel) WHERE status = 'open' DO NOTHING
      RETURNING *
    ),
    ${openedEvents(tenantId, actor, "inserted")}
    SELECT EXISTS (SELECT 1 FROM cust) AS customer_found, EXISTS (SELECT 1 FROM ord) AS order_found,
      (SELECT ${conversationJson("c", readerId)} FROM existing e JOIN conversations c ON c.id = e.id) AS existing,
      (SELECT ${conversationJson("i", readerId)} FROM inserted i) AS inserted`,
  );
  const row = rows[0]!;
  if (row.existing) return { conversation: toConversation(row.existing), created: false };
  if (row.customer_found !== true) return { unknownCustomer: true };
  if (orderId && row.order_found !== true) return { unknownOrder: true };
  if (!row.inserted) return { raced: true };
  // Rendered from the inserted row: a new thread has no messages and no read markers yet, which is
  // what the statement's subqueries see.
  return { conversation: toConversation(row.inserted), created: true };
}

export type ConversationWrite = { conversation: Conversation } | { missing: true } | { staleVersion: number } | { unknownAssignee: true } | { unknownOrder: true };

export async function updateConversation(db: Db, tenantId: string, readerId: string, id: string, input: Omit<ConversationUpdateInput, "version">, expected: number | undefined, actor: Actor): Promise<ConversationWrite> {
  const sets: SQL[] = [];
  if (input.status !== undefined) sets.push(sql`status = ${input.status}`);
  if (input.assignedTo !== undefined) sets.push(sql`assigned_to = ${input.assignedTo}::uuid`);
  if (input.orderId !== undefined) sets.push(sql`order_id = ${input.orderId}::uuid`);
  const assignee = input.assignedTo ?? null;
  const orderId = input.orderId ?? null;
  const changes = Object.keys(input).filter((k) => (input as Record<string, unknown>)[k] !== undefined);
  const rows = await query(
    db,
    sql`
    WITH target AS (SELECT version FROM conversations WHERE tenant_id = ${tenantId} AND id = ${id}),
    assignee_ok AS (SELECT ${assignee}::uuid IS NULL OR EXISTS (SELECT 1 FROM memberships m WHERE m.tenant_id = ${tenantId} AND m.user_id = ${assignee}::uuid) AS ok),
    order_ok AS (SELECT ${orderId}::uuid IS NULL OR EXISTS (SELECT 1 FROM orders o WHERE o.tenant_id = ${tenantId} AND o.id = ${orderId}::uuid) AS ok),
    changed AS (
      UPDATE conversations c SET ${sql.join(sets, sql`, `)}, version = c.version + 1, updated_at = now()
      WHERE c.tenant_id = ${tenantId} AND c.id = ${id} AND (${expected ?? null}::int IS NULL OR c.version = ${expected ?? null}::int)
        AND (SELECT ok FROM assignee_ok) AND (SELECT ok FROM order_ok)
      RETURNING c.*
    ),
    ${eventsCte(
      "conversation_events",
      tenantId,
      actor,
      sql`SELECT 'conversation.updated' AS type, 'conversation' AS resource_type, u.id AS resource_id,
        jsonb_build_object('conversation', ${conversationEventJson("u")}, 'changes', ${JSON.stringify(changes)}::jsonb) AS data FROM changed u`,
    )}
    SELECT t.version AS current_version, (SELECT ok FROM assignee_ok) AS assignee_ok, (SELECT ok FROM order_ok) AS order_ok,
      (SELECT ${conversationJson("c", readerId)} || jsonb_build_object('status', u.status, 'assignedTo', u.assigned_to, 'orderId', u.order_id, 'version', u.version, 'updatedAt', u.updated_at)
        FROM changed u JOIN conversations c ON c.id = u.id) AS conversation
    FROM (SELECT 1) one LEFT JOIN target t ON true`,
  );
  const row = rows[0]!;
  if (row.conversation) return { conversation: toConversation(row.conversation) };
  if (row.current_version === null || row.current_version === undefined) return { missing: true };
  if (row.assignee_ok !== true) return { unknownAssignee: true };
  if (row.order_ok !== true) return { unknownOrder: true };
  return { staleVersion: toNumber(row.current_version) };
}

export async function listMessages(db: Db, tenantId: string, conversationId: string, input: MessageListInput, afterSeq: number | undefined) {
  const newest = input.order === "newest";
  const seek = afterSeq === undefined ? sql`` : newest ? sql`AND m.seq < ${afterSeq}` : sql`AND m.seq > ${afterSeq}`;
  const rows = await query(
    db,
    sql`
    WITH conv AS (SELECT c.id FROM conversations c WHERE c.tenant_id = ${tenantId} AND c.id = ${conversationId})
    SELECT EXISTS (SELECT 1 FROM conv) AS found, p.message
    FROM (SELECT 1) one LEFT JOIN LATERAL (
      SELECT ${messageJson("m")} AS message FROM messages m
      WHERE m.tenant_id = ${tenantId} AND m.conversation_id IN (SELECT id FROM conv) ${seek}
      ORDER BY m.seq ${newest ? sql`DESC` : sql`ASC`} LIMIT ${input.limit}
    ) p ON true`,
  );
  if (rows[0]?.found !== true) return undefined;
  const items = rows.filter((r) => r.message !== null && r.message !== undefined).map((r) => toMessage(r.message));
  return { items, next: items.length === input.limit ? items.at(-1)!.seq : undefined };
}

/**
 * What a staff message becomes on its thread's channel (see README "Conversations"): a note when
 * asked for and on the note-only channels (call, offline); an outbound message, `queued` and handed
 * to the delivery engine in the same statement, when the tenant has an enabled connector for the
 * channel (lib/connectors); without one, on `web` an outbound message the customer reads on the
 * tracking page, `sent` at once, and a note on the other channels (nothing could carry it).
 */
export interface StaffMessage {
  id: string;
  text: string;
  attachments: string[];
  note: boolean;
  author: Actor;
}

export interface PostResult {
  row: Record<string, unknown>;
  message?: Message;
  replayed?: Message;
}

/**
 * The body a connector receives for an outbound message (created row `m`, its thread `c`): the
 * message as the API renders it, the thread, whom to send it to (the customer's contact fields) and
 * the external id of the customer's last inbound message on the thread (what platforms reply to).
 * Stored with the delivery, so every attempt sends the same bytes.
 */
const outboundPayload = (tenantId: string, m: string, c: string) =>
  sql`jsonb_build_object('type', 'message.outbound', 'occurredAt', ${sql.raw(m)}.created_at, 'tenantId', ${sql.raw(m)}.tenant_id,
    'data', jsonb_build_object(
      'message', ${messageJson(m)},
      'conversation', ${conversationEventJson(c)},
      'to', (SELECT jsonb_build_object('customerId', cu.id, 'name', cu.name, 'handle', cu.social_handle, 'phone', cu.phone, 'email', cu.email)
        FROM customers cu WHERE cu.tenant_id = ${tenantId} AND cu.id = ${sql.raw(c)}.customer_id),
      'inReplyTo', (SELECT im.external_id FROM messages im WHERE im.tenant_id = ${tenantId} AND im.conversation_id = ${sql.raw(c)}.id AND im.direction = 'inbound'
        ORDER BY im.seq DESC LIMIT 1)))`;

export const renderMessage = (tenantId: string) => (id: SQL) => sql`SELECT ${messageJson("r")} FROM messages r WHERE r.tenant_id = ${tenantId} AND r.id = ${id}`;

const messageEvents = (tenantId: string, actor: Actor, messages: string, conversations: string) =>
  eventsCte(
    "message_events",
    tenantId,
    actor,
    sql`SELECT 'message.created' AS type, 'message' AS resource_type, m.id AS resource_id,
      jsonb_build_object('message', ${messageJson("m")}, 'conversation', ${conversationEventJson("cv")}) AS data
      FROM ${sql.raw(messages)} m JOIN ${sql.raw(conversations)} cv ON cv.id = m.conversation_id`,
  );

/**
 * A staff message: takes the thread's next sequence number and inserts the message, with its
 * event, gated on the Idempotency-Key. A missing or closed thread raises (nothing kept, the key free).
 */
export async function postMessage(db: Db, tenantId: string, conversationId: string, m: StaffMessage, idem: IdempotencyRequest | undefined): Promise<PostResult> {
  const rows = await query(
    db,
    gatedStatement({
      tenantId,
      idem,
      resourceId: m.id,
      work: sql`
    conv AS (
      UPDATE conversations c SET message_count = c.message_count + 1, last_message_id = ${m.id}, last_message_at = now(), updated_at = now()
      WHERE c.tenant_id = ${tenantId} AND c.id = ${conversationId} AND c.status = 'open' AND EXISTS (SELECT 1 FROM go)
      RETURNING c.*,
        (SELECT p.id FROM delivery_endpoints p WHERE p.tenant_id = c.tenant_id AND p.kind = 'connector' AND p.channel = c.channel AND p.enabled
          AND NOT ${m.note}::boolean AND c.channel NOT IN ('call', 'offline')) AS connector_id
    ),
    created AS (
      INSERT INTO messages (id, tenant_id, conversation_id, seq, channel, direction, text, attachments, author_type, author_id, status, sent_at)
      SELECT ${m.id}, ${tenantId}, conv.id, conv.message_count, conv.channel,
        CASE WHEN conv.connector_id IS NOT NULL OR (conv.channel = 'web' AND NOT ${m.note}::boolean) THEN 'outbound' ELSE 'note' END,
        ${m.text}, ${JSON.stringify(m.attachments)}::jsonb, ${m.author.type}, ${m.author.id},
        CASE WHEN conv.connector_id IS NOT NULL THEN 'queued' ELSE 'sent' END, CASE WHEN conv.connector_id IS NULL THEN now() END
      FROM conv
      RETURNING *
    ),
    ${enqueueCte(
      "outbound_deliveries",
      tenantId,
      sql`SELECT conv.connector_id AS endpoint_id, 'message.outbound' AS event_type, ${outboundPayload(tenantId, "cr", "conv")} AS payload, cr.id AS message_id
        FROM created cr JOIN conv ON conv.id = cr.conversation_id WHERE conv.connector_id IS NOT NULL`,
      true,
    )},
    ${messageEvents(tenantId, m.author, "created", "conv")}`,
      succeeded: sql`EXISTS (SELECT 1 FROM created)`,
      refusal: sql`jsonb_build_object('status', (SELECT c.status FROM conversations c WHERE c.tenant_id = ${tenantId} AND c.id = ${conversationId}))`,
      columns: sql`(SELECT ${messageJson("c")} FROM created c) AS message`,
      render: renderMessage(tenantId),
    }),
  );
  const row = rows[0]!;
  return { row, message: row.message ? toMessage(row.message) : undefined, replayed: row.replayed ? toMessage(row.replayed) : undefined };
}

export async function findMessage(db: Db, tenantId: string, id: string): Promise<Message | undefined> {
  const rows = await query(db, renderMessage(tenantId)(sql`${id}::uuid`));
  const value = rows[0] && Object.values(rows[0])[0];
  return value ? toMessage(value) : undefined;
}

export type ReadOutcome = { readSeq: number; unreadCount: number } | { missing: true } | { unknownMessage: true };

/** Moves the reader's marker forward (never back) to `upTo`'s seq, or to the thread's last message. */
export async function markRead(db: Db, tenantId: string, conversationId: string, readerId: string, upTo: string | undefined): Promise<ReadOutcome> {
  const upToId = upTo ?? null;
  const rows = await query(
    db,
    sql`
    WITH conv AS (SELECT c.id, c.message_count FROM conversations c WHERE c.tenant_id = ${tenantId} AND c.id = ${conversationId}),
    upto AS (SELECT m.seq FROM messages m WHERE m.tenant_id = ${tenantId} AND m.conversation_id IN (SELECT id FROM conv) AND m.id = ${upToId}::uuid),
    target AS (SELECT conv.id, CASE WHEN ${upToId}::uuid IS NULL THEN conv.message_count ELSE (SELECT seq FROM upto) END AS seq FROM conv),
    marked AS (
      INSERT INTO conversation_reads AS r (tenant_id, conversation_id, reader_id, read_seq)
      SELECT ${tenantId}, t.id, ${readerId}, t.seq FROM target t WHERE t.seq IS NOT NULL
      ON CONFLICT (conversation_id, reader_id) DO UPDATE SET read_seq = GREATEST(r.read_seq, excluded.read_seq), updated_at = now()
      RETURNING r.read_seq
    )
    SELECT EXISTS (SELECT 1 FROM conv) AS found, (SELECT read_seq FROM marked) AS read_seq,
      (SELECT count(*) FROM messages m WHERE m.conversation_id IN (SELECT id FROM conv) AND m.direction = 'inbound' AND m.seq > (SELECT read_seq FROM marked)) AS unread`,
  );
  const row = rows[0]!;
  if (row.found !== true) return { missing: true };
  if (row.read_seq === null || row.read_seq === undefined) return { unknownMessage: true };
  return { readSeq: toNumber(row.read_seq), unreadCount: toNumber(row.unread) };
}

// ---- inbound ------------------------------------------------------------------------------

export interface InboundIds {
  messageId: string;
  customerId: string;
  conversationId: string;
}

export type InboundOutcome =
  | { message: Message; conversationId: string; customerId: string; created: boolean }
  /** The open thread was closed or opened by someone else while this ran: try again. */
  | { raced: true };

/**
 * The tenant's inbound lock (a transaction-scoped advisory lock): every path that may create a
 * customer or open a thread for an inbound message — integrations, the tracking page — takes it.
 */
export const inboundLock = (tenantId: SQL) => sql`pg_advisory_xact_lock(hashtextextended('tally:inbound:' || ${tenantId}::text, 0))`;

/** Digits of a phone number, for matching "+1 (555) 010-0000" with "15550100000". */
export const phoneDigits = (phone: string | undefined) => (phone ?? "").replace(/\D/g, "");

/**
 * An inbound message from a connector, in one atomic batch (one round trip): a per-tenant
 * transaction lock first — inbound deliveries of one tenant take turns, so a redelivery sees the
 * first delivery's message and a new customer is created once — then one statement that returns
 * the existing message for (channel, externalId), or matches the customer (handle, then email, then
 * phone; else creates one), finds or opens the thread, inserts the message and its events.
 */
export async function receiveInbound(db: Db, tenantId: string, ids: InboundIds, input: InboundMessageInput, actor: Actor): Promise<InboundOutcome> {
  const handle = input.from.handle || null;
  const email = input.from.email || null;
  const phone = input.from.phone || null;
  const digits = phoneDigits(input.from.phone);
  const name = input.from.name || handle || email || phone || "Customer";
  const sentAt = input.sentAt ?? null;
  const statement = sql`
    WITH existing AS (SELECT m.* FROM messages m WHERE m.tenant_id = ${tenantId} AND m.channel = ${input.channel} AND m.external_id = ${input.externalId}),
    matched AS (
      SELECT cu.id FROM customers cu
      WHERE cu.tenant_id = ${tenantId} AND NOT EXISTS (SELECT 1 FROM existing) AND (
        (${handle}::text IS NOT NULL AND lower(cu.social_handle) = lower(${handle}::text))
        OR (${email}::text IS NOT NULL AND lower(cu.email) = ${email}::text)
        OR (${digits}::text <> '' AND regexp_replace(cu.phone, '\\D', '', 'g') = ${digits}::text))
      ORDER BY (${handle}::text IS NOT NULL AND lower(cu.social_handle) = lower(${handle}::text)) DESC,
        (${email}::text IS NOT NULL AND lower(cu.email) = ${email}::text) DESC, cu.created_at, cu.id
      LIMIT 1
    ),
    new_customer AS (
      INSERT INTO customers (id, tenant_id, name, phone, email, social_handle)
      SELECT ${ids.customerId}, ${tenantId}, ${name}, ${phone}, ${email}, ${handle}
      WHERE NOT EXISTS (SELECT 1 FROM existing) AND NOT EXISTS (SELECT 1 FROM matched)
      RETURNING id
    ),
    cust AS (SELECT id FROM matched UNION ALL SELECT id FROM new_customer),
    open_conv AS (SELECT c.id FROM conversations c WHERE c.tenant_id = ${tenantId} AND c.customer_id IN (SELECT id FROM cust) AND c.channel = ${input.channel} AND c.status = 'open'),
    bumped AS (
      UPDATE conversations c SET message_count = c.message_count + 1, last_inbound_seq = c.message_count + 1,
        last_message_id = ${ids.messageId}, last_message_at = now(), updated_at = now()
      WHERE c.tenant_id = ${tenantId} AND c.id IN (SELECT id FROM open_conv) AND c.status = 'open'
      RETURNING c.*
    ),
    new_conv AS (
      INSERT INTO conversations (id, tenant_id, customer_id, channel, message_count, last_inbound_seq, last_message_id, last_message_at, created_by)
      SELECT ${ids.conversationId}, ${tenantId}, cust.id, ${input.channel}, 1, 1, ${ids.messageId}, now(), ${actor.id}
      FROM cust WHERE NOT EXISTS (SELECT 1 FROM open_conv)
      RETURNING *
    ),
    target AS (SELECT * FROM bumped UNION ALL SELECT * FROM new_conv),
    created AS (
      INSERT INTO messages (id, tenant_id, conversation_id, seq, channel, direction, text, attachments, author_type, author_id, status, external_id, sent_at)
      SELECT ${ids.messageId}, ${tenantId}, t.id, t.message_count, ${input.channel}, 'inbound', ${input.text}, ${JSON.stringify(input.attachments)}::jsonb,
        'customer', t.customer_id::text, 'received', ${input.externalId}, ${sentAt}::timestamptz
      FROM target t
      RETURNING *
    ),
    ${openedEvents(tenantId, actor, "new_conv")},
    ${messageEvents(tenantId, actor, "created", "target")}
    SELECT (SELECT ${messageJson("e")} FROM existing e) AS existing, (SELECT ${messageJson("c")} FROM created c) AS created,
      (SELECT id FROM cust) AS customer_id, (SELECT id FROM target) AS conversation_id,
      (SELECT c.customer_id FROM existing e JOIN conversations c ON c.id = e.conversation_id) AS existing_customer_id`;
  const results = await atomic(db, [sql`SELECT ${inboundLock(sql`${tenantId}::uuid`)}`, statement]);
  const row = results[1]![0]!;
  if (row.existing) {
    const message = toMessage(row.existing);
    return { message, conversationId: message.conversationId, customerId: String(row.existing_customer_id), created: false };
  }
  if (!row.created) return { raced: true };
  return { message: toMessage(row.created), conversationId: String(row.conversation_id), customerId: String(row.customer_id), created: true };
}

// ---- status reports -------------------------------------------------------------------------

/** Forward order of an outbound message's states; `failed` is reachable only before delivery. */
export const STATUS_RANK: Record<string, number> = { queued: 1, sent: 2, delivered: 3, read: 4 };

export type StatusOutcome = { message: Message; applied: boolean } | { missing: true } | { notOutbound: true };

/**
 * A connector's report. The row is locked first (FOR UPDATE re-reads its latest version after a
 * wait), so of two racing reports the later one compares against the earlier one's result: a
 * `read` overtaking `delivered` ends at read whatever the arrival order. Backward or repeated
 * reports change nothing (applied: false) and emit nothing.
 */
export async function reportStatus(db: Db, tenantId: string, messageId: string, status: string, reason: string | undefined, actor: Actor): Promise<StatusOutcome> {
  const rank = sql.raw(`CASE l.status WHEN 'queued' THEN 1 WHEN 'sent' THEN 2 WHEN 'delivered' THEN 3 WHEN 'read' THEN 4 ELSE 99 END`);
  const target = STATUS_RANK[status] ?? 0;
  const rows = await query(
    db,
    sql`
    WITH locked AS (SELECT m.* FROM messages m WHERE m.tenant_id = ${tenantId} AND m.id = ${messageId} FOR UPDATE),
    changed AS (
      UPDATE messages m SET status = ${status}, failure_reason = ${status === "failed" ? (reason ?? null) : null}::text, updated_at = now(),
        sent_at = coalesce(m.sent_at, CASE WHEN ${status} IN ('delivered', 'read') THEN now() END)
      FROM locked l
      WHERE m.id = l.id AND l.direction = 'outbound' AND (
        CASE WHEN ${status} = 'failed' THEN l.status IN ('queued', 'sent') ELSE ${rank} < ${target}::int END)
      RETURNING m.*, l.status AS previous
    ),
    ${eventsCte(
      "status_events",
      tenantId,
      actor,
      sql`SELECT 'message.status_changed' AS type, 'message' AS resource_type, c.id AS resource_id,
        jsonb_build_object('message', ${messageJson("c")}, 'from', c.previous, 'to', c.status) AS data FROM changed c`,
    )}
    SELECT (SELECT direction FROM locked) AS direction, (SELECT ${messageJson("c")} FROM changed c) AS changed,
      (SELECT ${messageJson("l")} FROM locked l) AS current`,
  );
  const row = rows[0]!;
  if (!row.direction) return { missing: true };
  if (row.direction !== "outbound") return { notOutbound: true };
  if (row.changed) return { message: toMessage(row.changed), applied: true };
  return { message: toMessage(row.current), applied: false };
}

// ---- typing (reads only: indicators never touch the database) ----------------------------------

export async function conversationExists(db: Db, tenantId: string, id: string): Promise<boolean> {
  const rows = await query(db, sql`SELECT 1 AS found FROM conversations c WHERE c.tenant_id = ${tenantId} AND c.id = ${id}`);
  return rows.length > 0;
}

/** The open thread on `channel` of the customer a connector names (matched as inbound messages are). */
export async function openThreadOf(db: Db, tenantId: string, channel: string, from: { handle?: string; phone?: string; email?: string }) {
  const handle = from.handle || null;
  const email = from.email?.toLowerCase() || null;
  const digits = phoneDigits(from.phone);
  const rows = await query(
    db,
    sql`SELECT c.id, c.customer_id FROM customers cu JOIN conversations c ON c.tenant_id = cu.tenant_id AND c.customer_id = cu.id AND c.channel = ${channel} AND c.status = 'open'
        WHERE cu.tenant_id = ${tenantId} AND (
          (${handle}::text IS NOT NULL AND lower(cu.social_handle) = lower(${handle}::text))
          OR (${email}::text IS NOT NULL AND lower(cu.email) = ${email}::text)
          OR (${digits}::text <> '' AND regexp_replace(cu.phone, '\\D', '', 'g') = ${digits}::text))
        ORDER BY (${handle}::text IS NOT NULL AND lower(cu.social_handle) = lower(${handle}::text)) DESC,
          (${email}::text IS NOT NULL AND lower(cu.email) = ${email}::text) DESC, cu.created_at, cu.id
        LIMIT 1`,
  );
  return rows[0] ? { conversationId: String(rows[0].id), customerId: String(rows[0].customer_id) } : undefined;
}
