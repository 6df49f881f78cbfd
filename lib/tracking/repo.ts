import { sql, type SQL } from "../../db/sql.js";
import { atomic, query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { fromJson, toIso, toIsoOrNull, toNumber } from "../../db/values.js";
import { eventsCte, type Actor } from "../events/outbox.js";
import { conversationEventJson, messageJson, toMessage, type Message } from "../conversations/json.js";
import { inboundLock } from "../conversations/repo.js";

// Order-tracking links. A link is live while it is not revoked and its order was completed or
// cancelled less than TRACKING_DAYS ago (open orders' links do not expire): the rule is evaluated
// in every statement that reads a link, so it follows the order's state without a sweeper.
export const TRACKING_DAYS = 30;

const closedAt = (o: string) => sql.raw(`coalesce(${o}.completed_at, ${o}.cancelled_at)`);
const expiresAt = (o: string) => sql`(${closedAt(o)} + make_interval(days => ${TRACKING_DAYS}))`;
const live = (o: string) => sql`(${closedAt(o)} IS NULL OR ${expiresAt(o)} > now())`;

export type IssueOutcome = { expiresAt: string | null } | { missing: true } | { expired: true };

/** A new link for the order; the order's previous link is revoked in the same statement. */
export async function issueLink(db: Db, tenantId: string, orderId: string, id: string, hash: string, createdBy: string): Promise<IssueOutcome> {
  const rows = await query(
    db,
    sql`
    WITH target AS (SELECT o.* FROM orders o WHERE o.tenant_id = ${tenantId} AND o.id = ${orderId}),
    ok AS (SELECT t.id FROM target t WHERE ${live("t")}),
    revoked AS (
      UPDATE order_tracking_tokens k SET revoked_at = now()
      WHERE k.tenant_id = ${tenantId} AND k.order_id IN (SELECT id FROM ok) AND k.revoked_at IS NULL
      RETURNING 1
    ),
    issued AS (
      INSERT INTO order_tracking_tokens (id, tenant_id, order_id, token_hash, created_by)
      SELECT ${id}, ${tenantId}, ok.id, ${hash}, ${createdBy} FROM ok CROSS JOIN (SELECT count(*) FROM revoked) r
      RETURNING id
    )
    SELECT EXISTS (SELECT 1 FROM target) AS found, EXISTS (SELECT 1 FROM issued) AS issued, (SELECT ${expiresAt("t")} FROM target t) AS expires_at`,
  );
  const row = rows[0]!;
  if (row.found !== true) return { missing: true };
  if (row.issued !== true) return { expired: true };
  return { expiresAt: toIsoOrNull(row.expires_at) };
}

/** CTE `tok`: the live link with this hash, its tenant (not deleted) and its order. */
const liveToken = (hash: string): SQL => sql`tok AS (
      SELECT k.id, k.tenant_id, k.order_id, o.customer_id, o.number FROM order_tracking_tokens k
      JOIN tenants tn ON tn.id = k.tenant_id AND tn.deleted_at IS NULL
      JOIN orders o ON o.id = k.order_id
      WHERE k.token_hash = ${hash} AND k.revoked_at IS NULL AND ${live("o")})`;

export interface PublicOrder {
  order: {
    number: number;
    status: string;
    createdAt: string;
    timeline: { status: string; at: string }[];
    lines: { name: string; quantity: number; unitPriceCents: number; lineTotalCents: number }[];
    totalCents: number;
  };
  shop: { name: string };
  messages: { id: string; direction: "inbound" | "outbound"; text: string; createdAt: string }[];
  expiresAt: string | null;
}

/** At most this many (the newest) messages on the page. */
export const PUBLIC_MESSAGES = 200;

/**
 * What the customer sees: number, status timeline, lines, total, the shop's name and the messages
 * (not notes) of the order's threads. No customer data, no author ids, nothing about other orders.
 */
export async function publicView(db: Db, hash: string): Promise<PublicOrder | undefined> {
  const rows = await query(
    db,
    sql`
    WITH ${liveToken(hash)}
    SELECT jsonb_build_object(
      'order', jsonb_build_object('number', o.number, 'status', o.status, 'createdAt', o.created_at, 'totalCents', o.total_cents,
        'timeline', (SELECT coalesce(jsonb_agg(jsonb_build_object('status', x.status, 'at', x.at) ORDER BY x.at, x.n), '[]'::jsonb) FROM (
            SELECT 'pending' AS status, o.created_at AS at, 0::bigint AS n
            UNION ALL
            SELECT e.data->>'to', e.occurred_at, e.seq FROM events e
            WHERE e.tenant_id = o.tenant_id AND e.resource_type = 'order' AND e.resource_id = o.id::text AND e.type = 'order.status_changed'
            UNION ALL
            SELECT 'cancelled', o.cancelled_at, 0 WHERE o.cancelled_at IS NOT NULL) x),
        'lines', coalesce((SELECT jsonb_agg(jsonb_build_object('name', l.name, 'quantity', l.quantity, 'unitPriceCents', l.unit_price_cents,
            'lineTotalCents', l.unit_price_cents::bigint * l.quantity) ORDER BY l.position) FROM order_lines l WHERE l.order_id = o.id), '[]'::jsonb)),
      'shop', jsonb_build_object('name', tn.name),
      'messages', coalesce((SELECT jsonb_agg(jsonb_build_object('id', m.id, 'direction', m.direction, 'text', m.text, 'createdAt', m.created_at) ORDER BY m.created_at, m.seq)
        FROM (SELECT m.* FROM messages m JOIN conversations c ON c.id = m.conversation_id
              WHERE c.tenant_id = o.tenant_id AND c.order_id = o.id AND m.tenant_id = o.tenant_id AND m.direction <> 'note'
              ORDER BY m.created_at DESC, m.seq DESC LIMIT ${PUBLIC_MESSAGES}) m), '[]'::jsonb),
      'expiresAt', ${expiresAt("o")}) AS view
    FROM tok JOIN orders o ON o.id = tok.order_id JOIN tenants tn ON tn.id = tok.tenant_id`,
  );
  if (!rows[0]) return undefined;
  const view = fromJson<PublicOrder>(rows[0].view);
  return {
    order: {
      ...view.order,
      number: toNumber(view.order.number),
      createdAt: toIso(view.order.createdAt),
      totalCents: toNumber(view.order.totalCents),
      timeline: view.order.timeline.map((s) => ({ status: s.status, at: toIso(s.at) })),
      lines: view.order.lines.map((l) => ({ name: l.name, quantity: toNumber(l.quantity), unitPriceCents: toNumber(l.unitPriceCents), lineTotalCents: toNumber(l.lineTotalCents) })),
    },
    shop: view.shop,
    messages: view.messages.map((m) => ({ id: m.id, direction: m.direction, text: m.text, createdAt: toIso(m.createdAt) })),
    expiresAt: toIsoOrNull(view.expiresAt),
  };
}

/** A customer writing from the tracking page. */
const PUBLIC: Actor = { type: "public", id: null };

export type ReplyOutcome = { message: Message; tenantId: string } | { unusable: true } | { raced: true };

/**
 * The customer's reply: an inbound message on channel `web` in the order's open web thread (or the
 * customer's open web thread, which then gets the order; or a new one — for an order without a
 * customer, with a customer named after the order). One atomic batch: the tenant's inbound lock
 * (the same one the integrations take, so threads open once), then one statement.
 */
export async function publicReply(db: Db, hash: string, ids: { messageId: string; customerId: string; conversationId: string }, text: string): Promise<ReplyOutcome> {
  const tenant = sql`(SELECT tenant_id FROM tok)`;
  const statement = sql`
    WITH ${liveToken(hash)},
    by_order AS (
      SELECT c.id FROM conversations c JOIN tok ON c.tenant_id = tok.tenant_id AND c.order_id = tok.order_id
      WHERE c.channel = 'web' AND c.status = 'open' ORDER BY c.created_at DESC LIMIT 1),
    by_customer AS (
      SELECT c.id FROM conversations c JOIN tok ON c.tenant_id = tok.tenant_id AND c.customer_id = tok.customer_id
      WHERE c.channel = 'web' AND c.status = 'open' AND NOT EXISTS (SELECT 1 FROM by_order)),
    open_conv AS (SELECT id FROM by_order UNION ALL SELECT id FROM by_customer),
    new_customer AS (
      INSERT INTO customers (id, tenant_id, name)
      SELECT ${ids.customerId}, tok.tenant_id, 'Order #' || tok.number FROM tok
      WHERE tok.customer_id IS NULL AND NOT EXISTS (SELECT 1 FROM open_conv)
      RETURNING id),
    bumped AS (
      UPDATE conversations c SET message_count = c.message_count + 1, last_inbound_seq = c.message_count + 1,
        last_message_id = ${ids.messageId}, last_message_at = now(), updated_at = now(), order_id = coalesce(c.order_id, (SELECT order_id FROM tok))
      WHERE c.id IN (SELECT id FROM open_conv) AND c.status = 'open'
      RETURNING c.*),
    new_conv AS (
      INSERT INTO conversations (id, tenant_id, customer_id, channel, order_id, message_count, last_inbound_seq, last_message_id, last_message_at)
      SELECT ${ids.conversationId}, tok.tenant_id, coalesce(tok.customer_id, (SELECT id FROM new_customer)), 'web', tok.order_id, 1, 1, ${ids.messageId}, now()
      FROM tok WHERE NOT EXISTS (SELECT 1 FROM open_conv)
      RETURNING *),
    target AS (SELECT * FROM bumped UNION ALL SELECT * FROM new_conv),
    created AS (
      INSERT INTO messages (id, tenant_id, conversation_id, seq, channel, direction, text, author_type, author_id, status)
      SELECT ${ids.messageId}, t.tenant_id, t.id, t.message_count, 'web', 'inbound', ${text}, 'customer', t.customer_id::text, 'received' FROM target t
      RETURNING *),
    ${eventsCte("opened_events", tenant, PUBLIC, sql`SELECT 'conversation.opened' AS type, 'conversation' AS resource_type, o.id AS resource_id, jsonb_build_object('conversation', ${conversationEventJson("o")}) AS data FROM new_conv o`)},
    ${eventsCte(
      "message_events",
      tenant,
      PUBLIC,
      sql`SELECT 'message.created' AS type, 'message' AS resource_type, m.id AS resource_id,
        jsonb_build_object('message', ${messageJson("m")}, 'conversation', ${conversationEventJson("cv")}) AS data
        FROM created m JOIN target cv ON cv.id = m.conversation_id`,
    )}
    SELECT EXISTS (SELECT 1 FROM tok) AS live, (SELECT tenant_id FROM tok) AS tenant_id, (SELECT ${messageJson("c")} FROM created c) AS created`;
  const lock = sql`SELECT ${inboundLock(sql`k.tenant_id`)} FROM order_tracking_tokens k WHERE k.token_hash = ${hash}`;
  const results = await atomic(db, [lock, statement]);
  const row = results[1]![0]!;
  if (row.live !== true) return { unusable: true };
  if (!row.created) return { raced: true };
  return { message: toMessage(row.created), tenantId: String(row.tenant_id) };
}
