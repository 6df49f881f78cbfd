import { sql } from "../../db/sql.js";
import { query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { fromJson } from "../../db/values.js";
import { DELIVERY_COLUMNS, toDelivery, type DeliveryInfo, type EndpointState } from "../delivery/repo.js";
import { eventsCte, type Actor } from "../events/outbox.js";
import { messageJson } from "../conversations/json.js";
import type { ConnectorPutInput } from "./schemas.js";

// Chat connectors are the delivery engine's endpoints of kind "connector", one per tenant and
// channel (a partial unique index). Outbound staff messages on that channel are queued as
// deliveries carrying the message (lib/conversations/repo.ts, postMessage); the engine's outcome
// statement moves the message (lib/connectors/outcome.ts). Every function here is one statement.

export interface Connector extends EndpointState {
  id: string;
  channel: string;
  url: string;
}

const KIND = sql`'connector'`;

/** A connector row (alias `p`) as the API renders it (never its secrets). */
const connectorJson = (p: string) =>
  sql.raw(`jsonb_build_object('id', ${p}.id, 'channel', ${p}.channel, 'url', ${p}.url, 'enabled', ${p}.enabled,
    'disabledReason', ${p}.disabled_reason, 'disabledAt', ${p}.disabled_at, 'failingSince', ${p}.failing_since, 'version', ${p}.version,
    'createdAt', ${p}.created_at, 'updatedAt', ${p}.updated_at)`);

const toConnector = (value: unknown) => fromJson<Connector>(value);

/** message.status_changed for each row of `source` (a messages RETURNING with a `previous` column). */
const statusEvents = (name: string, tenantId: string, actor: Actor, source: string) =>
  eventsCte(
    name,
    tenantId,
    actor,
    sql`SELECT 'message.status_changed' AS type, 'message' AS resource_type, c.id AS resource_id,
          jsonb_build_object('message', ${messageJson("c")}, 'from', c.previous, 'to', c.status) AS data
        FROM ${sql.raw(source)} c`,
  );

/**
 * Creates the channel's connector (with `secret`) or replaces its URL and switch (keeping its
 * secret). Enabling clears a disabled connector's record; disabling by hand records "manual". The
 * version moves only when something changed, so a repeated PUT is a no-op.
 */
export async function putConnector(db: Db, tenantId: string, id: string, channel: string, input: ConnectorPutInput, secret: string): Promise<{ connector: Connector; created: boolean }> {
  const rows = await query(
    db,
    sql`WITH up AS (
          INSERT INTO delivery_endpoints AS p (id, tenant_id, kind, channel, url, secret, enabled, disabled_reason, disabled_at)
          VALUES (${id}, ${tenantId}, ${KIND}, ${channel}, ${input.url}, ${secret}, ${input.enabled},
            CASE WHEN ${input.enabled}::boolean THEN NULL ELSE 'manual' END, CASE WHEN ${input.enabled}::boolean THEN NULL ELSE now() END)
          ON CONFLICT (tenant_id, channel) WHERE kind = 'connector' DO UPDATE SET
            url = excluded.url,
            enabled = excluded.enabled,
            disabled_reason = CASE WHEN excluded.enabled THEN NULL WHEN p.enabled THEN 'manual' ELSE p.disabled_reason END,
            disabled_at = CASE WHEN excluded.enabled THEN NULL WHEN p.enabled THEN now() ELSE p.disabled_at END,
            failing_since = CASE WHEN excluded.enabled AND (NOT p.enabled OR p.url <> excluded.url) THEN NULL ELSE p.failing_since END,
            version = p.version + CASE WHEN p.url <> excluded.url OR p.enabled <> excluded.enabled THEN 1 ELSE 0 END,
            updated_at = CASE WHEN p.url <> excluded.url OR p.enabled <> excluded.enabled THEN now() ELSE p.updated_at END
          RETURNING p.*)
        SELECT ${connectorJson("up")} AS connector, up.id = ${id}::uuid AS created FROM up`,
  );
  return { connector: toConnector(rows[0]!.connector), created: rows[0]!.created === true };
}

export async function listConnectors(db: Db, tenantId: string): Promise<Connector[]> {
  const rows = await query(db, sql`SELECT ${connectorJson("p")} AS connector FROM delivery_endpoints p WHERE p.tenant_id = ${tenantId} AND p.kind = ${KIND} ORDER BY p.channel`);
  return rows.map((r) => toConnector(r.connector));
}

export async function getConnector(db: Db, tenantId: string, channel: string): Promise<Connector | undefined> {
  const rows = await query(db, sql`SELECT ${connectorJson("p")} AS connector FROM delivery_endpoints p WHERE p.tenant_id = ${tenantId} AND p.kind = ${KIND} AND p.channel = ${channel}`);
  return rows[0] ? toConnector(rows[0].connector) : undefined;
}

/**
 * Removes the connector and its deliveries. Nothing is lost silently: messages still waiting for
 * delivery through it (queued, their delivery pending or in flight) become `failed` ("connector
 * removed"), with their message.status_changed events, in the same statement.
 */
export async function deleteConnector(db: Db, tenantId: string, channel: string, actor: Actor): Promise<{ failed: number } | undefined> {
  const rows = await query(
    db,
    sql`WITH target AS (SELECT id FROM delivery_endpoints WHERE tenant_id = ${tenantId} AND kind = ${KIND} AND channel = ${channel} FOR UPDATE),
        orphaned AS (
          UPDATE messages m SET status = 'failed', failure_reason = 'connector removed before the message was delivered', updated_at = now()
          FROM deliveries d, target t
          WHERE d.endpoint_id = t.id AND d.tenant_id = ${tenantId} AND d.status IN ('pending', 'sending') AND m.id = d.message_id AND m.tenant_id = ${tenantId} AND m.status = 'queued'
          RETURNING m.*, 'queued'::text AS previous),
        ${statusEvents("orphaned_events", tenantId, actor, "orphaned")},
        gone AS (DELETE FROM delivery_endpoints p USING target t WHERE p.id = t.id RETURNING p.id)
        SELECT (SELECT count(*)::int FROM orphaned) AS failed FROM gone`,
  );
  return rows[0] ? { failed: Number(rows[0].failed) } : undefined;
}

/** New signing secret; the current one becomes the previous one and keeps signing for `graceSeconds`. */
export async function rotateSecret(db: Db, tenantId: string, channel: string, secret: string, graceSeconds: number): Promise<(Connector & { previousSecretExpiresAt: string }) | undefined> {
  const rows = await query(
    db,
    sql`WITH changed AS (
          UPDATE delivery_endpoints p SET previous_secret = p.secret, previous_secret_until = now() + make_interval(secs => ${graceSeconds}),
            secret = ${secret}, version = p.version + 1, updated_at = now()
          WHERE p.tenant_id = ${tenantId} AND p.kind = ${KIND} AND p.channel = ${channel}
          RETURNING p.*)
        SELECT ${connectorJson("changed")} AS connector, changed.previous_secret_until AS until FROM changed`,
  );
  if (!rows[0]) return undefined;
  return { ...toConnector(rows[0].connector), previousSecretExpiresAt: new Date(String(rows[0].until)).toISOString() };
}

export interface ConnectorDelivery extends Omit<DeliveryInfo, "eventId"> {
  messageId: string | null;
  messageStatus: string | null;
}

const toConnectorDelivery = (r: Record<string, unknown>): ConnectorDelivery => {
  const { eventId: _eventId, ...delivery } = toDelivery(r);
  return { ...delivery, messageId: (r.message_id as string | null) ?? null, messageStatus: (r.message_status as string | null) ?? null };
};

const DELIVERY_AND_MESSAGE = sql`${DELIVERY_COLUMNS}, d.message_id, (SELECT m.status FROM messages m WHERE m.id = d.message_id) AS message_status`;

export interface DeliveryPage {
  items: ConnectorDelivery[];
  next: { createdAt: string; id: string } | undefined;
}

/** Newest first, keyset on (created_at, id); undefined when the tenant has no connector on the channel. */
export async function listDeliveries(
  db: Db,
  tenantId: string,
  channel: string,
  f: { status?: string; messageId?: string; after?: { createdAt: string; id: string }; limit: number },
): Promise<DeliveryPage | undefined> {
  const where = [sql`d.endpoint_id = p.id`, sql`d.tenant_id = ${tenantId}`];
  if (f.status) where.push(sql`d.status = ${f.status}`);
  if (f.messageId) where.push(sql`d.message_id = ${f.messageId}`);
  if (f.after) where.push(sql`(d.created_at, d.id) < (${f.after.createdAt}::timestamptz, ${f.after.id}::uuid)`);
  const rows = await query(
    db,
    sql`SELECT p.id AS endpoint, d.*
        FROM (SELECT id FROM delivery_endpoints WHERE tenant_id = ${tenantId} AND kind = ${KIND} AND channel = ${channel}) p
        LEFT JOIN LATERAL (SELECT ${DELIVERY_AND_MESSAGE}, d.created_at::text AS created_key FROM deliveries d
          WHERE ${sql.join(where, sql` AND `)} ORDER BY d.created_at DESC, d.id DESC LIMIT ${f.limit}) d ON true`,
  );
  if (!rows[0]) return undefined;
  const found = rows.filter((r) => r.id !== null && r.id !== undefined);
  const last = found[found.length - 1];
  return { items: found.map(toConnectorDelivery), next: found.length === f.limit && last ? { createdAt: String(last.created_key), id: String(last.id) } : undefined };
}

/**
 * Makes one delivery of the channel's connector due now, from any state but in flight — the dead
 * letter, or a resend of a delivered one — with a fresh schedule and the same webhook-id. Its
 * message, if `failed`, goes back to `queued` (an explicit retry is the one way back) with its
 * message.status_changed event; a message already sent or further is left where it is.
 */
export async function retryDelivery(db: Db, tenantId: string, channel: string, deliveryId: string, actor: Actor): Promise<ConnectorDelivery | { busy: true } | undefined> {
  const rows = await query(
    db,
    sql`WITH target AS (
          SELECT d.id, d.status FROM deliveries d JOIN delivery_endpoints p ON p.id = d.endpoint_id AND p.tenant_id = ${tenantId} AND p.kind = ${KIND} AND p.channel = ${channel}
          WHERE d.tenant_id = ${tenantId} AND d.id = ${deliveryId} FOR UPDATE OF d),
        moved AS (
          UPDATE deliveries d SET status = 'pending', next_attempt_at = now(), round_start = d.attempts, updated_at = now()
          FROM target t WHERE d.id = t.id AND t.status <> 'sending'
          RETURNING d.*),
        requeued AS (
          UPDATE messages m SET status = 'queued', failure_reason = NULL, updated_at = now()
          FROM moved WHERE m.id = moved.message_id AND m.tenant_id = ${tenantId} AND m.status = 'failed'
          RETURNING m.*, 'failed'::text AS previous),
        ${statusEvents("requeued_events", tenantId, actor, "requeued")}
        SELECT t.status AS old_status, d.*,
          coalesce((SELECT r.status FROM requeued r), (SELECT m.status FROM messages m WHERE m.id = d.message_id)) AS message_status
        FROM target t LEFT JOIN LATERAL (SELECT ${DELIVERY_COLUMNS}, d.message_id FROM moved d) d ON true`,
  );
  if (!rows[0]) return undefined;
  if (rows[0].id === null || rows[0].id === undefined) return { busy: true };
  return toConnectorDelivery(rows[0]);
}

/**
 * Replay after an outage: every dead delivery of the channel's connector queued in [from, to) (at
 * most `limit`, oldest first) becomes due now with a fresh schedule (same webhook-id), and each of
 * their messages that is `failed` goes back to `queued` with its event. Undefined without a connector.
 */
export async function replay(db: Db, tenantId: string, channel: string, from: string, to: string, limit: number, actor: Actor): Promise<{ requeued: number; messages: number } | undefined> {
  const rows = await query(
    db,
    sql`WITH p AS (SELECT id FROM delivery_endpoints WHERE tenant_id = ${tenantId} AND kind = ${KIND} AND channel = ${channel}),
        chosen AS (
          SELECT d.id FROM deliveries d
          WHERE d.tenant_id = ${tenantId} AND d.endpoint_id IN (SELECT id FROM p) AND d.status = 'dead'
            AND d.created_at >= ${from}::timestamptz AND d.created_at < ${to}::timestamptz
          ORDER BY d.created_at, d.id LIMIT ${limit} FOR UPDATE OF d),
        moved AS (
          UPDATE deliveries d SET status = 'pending', next_attempt_at = now(), round_start = d.attempts, updated_at = now()
          FROM chosen c WHERE d.id = c.id AND d.status = 'dead'
          RETURNING d.message_id),
        requeued AS (
          UPDATE messages m SET status = 'queued', failure_reason = NULL, updated_at = now()
          FROM moved WHERE m.id = moved.message_id AND m.tenant_id = ${tenantId} AND m.status = 'failed'
          RETURNING m.*, 'failed'::text AS previous),
        ${statusEvents("replayed_events", tenantId, actor, "requeued")}
        SELECT (SELECT count(*)::int FROM moved) AS requeued, (SELECT count(*)::int FROM requeued) AS messages FROM p`,
  );
  return rows[0] ? { requeued: Number(rows[0].requeued), messages: Number(rows[0].messages) } : undefined;
}
