import { sql } from "../../db/sql.js";
import { query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { fromJson } from "../../db/values.js";
import { DELIVERY_COLUMNS, endpointJson, enqueueCte, toDelivery, type DeliveryInfo, type EndpointState } from "../delivery/repo.js";
import type { WebhookCreateInput, WebhookUpdateInput } from "./schemas.js";

// Webhook endpoints are the delivery engine's endpoints of kind "webhook".

export interface Webhook extends EndpointState {
  id: string;
  url: string;
  events: string[];
  description: string | null;
}

// A JS array in a drizzle template expands to a parameter list, not an array: pass it as JSON.
const textArray = (values: string[]) => sql`ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(values)}::jsonb))`;

const toWebhook = (value: unknown) => fromJson<Webhook>(value);
const KIND = sql`'webhook'`;

export const MAX_WEBHOOKS = 20;

/** Undefined when the tenant already has MAX_WEBHOOKS endpoints. */
export async function insertWebhook(db: Db, tenantId: string, id: string, input: WebhookCreateInput, secret: string): Promise<Webhook | undefined> {
  const rows = await query(
    db,
    sql`WITH made AS (
          INSERT INTO delivery_endpoints (id, tenant_id, kind, url, secret, event_types, description, enabled)
          SELECT ${id}, ${tenantId}, ${KIND}, ${input.url}, ${secret}, ${textArray(input.events)}, ${input.description ?? null}, ${input.enabled}
          WHERE (SELECT count(*) FROM delivery_endpoints WHERE tenant_id = ${tenantId} AND kind = ${KIND}) < ${MAX_WEBHOOKS}
          RETURNING *)
        SELECT ${endpointJson("made")} AS webhook FROM made`,
  );
  return rows[0] ? toWebhook(rows[0].webhook) : undefined;
}

export async function listWebhooks(db: Db, tenantId: string): Promise<Webhook[]> {
  const rows = await query(db, sql`SELECT ${endpointJson("p")} AS webhook FROM delivery_endpoints p WHERE p.tenant_id = ${tenantId} AND p.kind = ${KIND} ORDER BY p.created_at, p.id`);
  return rows.map((r) => toWebhook(r.webhook));
}

export async function getWebhook(db: Db, tenantId: string, id: string): Promise<Webhook | undefined> {
  const rows = await query(db, sql`SELECT ${endpointJson("p")} AS webhook FROM delivery_endpoints p WHERE p.tenant_id = ${tenantId} AND p.kind = ${KIND} AND p.id = ${id}`);
  return rows[0] ? toWebhook(rows[0].webhook) : undefined;
}

export type Changed = { webhook: Webhook } | { missing: true } | { stale: number };

/** Applies `input`; enabling a disabled endpoint clears its failure record. Guarded by `expected` (If-Match). */
export async function updateWebhook(db: Db, tenantId: string, id: string, input: WebhookUpdateInput, expected: number | undefined): Promise<Changed> {
  const sets = [sql`version = p.version + 1`, sql`updated_at = now()`];
  if (input.url !== undefined) sets.push(sql`url = ${input.url}`);
  if (input.events !== undefined) sets.push(sql`event_types = ${textArray(input.events)}`);
  if (input.description !== undefined) sets.push(sql`description = ${input.description}`);
  if (input.enabled !== undefined) {
    sets.push(sql`enabled = ${input.enabled}`);
    if (input.enabled) sets.push(sql`disabled_reason = NULL`, sql`disabled_at = NULL`, sql`failing_since = NULL`);
    else sets.push(sql`disabled_reason = CASE WHEN p.enabled THEN 'manual' ELSE p.disabled_reason END`, sql`disabled_at = CASE WHEN p.enabled THEN now() ELSE p.disabled_at END`);
  }
  return guardedChange(db, tenantId, id, sql`UPDATE delivery_endpoints p SET ${sql.join(sets, sql`, `)} FROM target t WHERE p.id = t.id AND ${versionOk(expected)} RETURNING p.*`);
}

export async function deleteWebhook(db: Db, tenantId: string, id: string, expected: number | undefined): Promise<Changed> {
  return guardedChange(db, tenantId, id, sql`DELETE FROM delivery_endpoints p USING target t WHERE p.id = t.id AND ${versionOk(expected)} RETURNING p.*`);
}

/** New signing secret; the current one becomes the previous one and keeps signing for `graceSeconds`. */
export async function rotateSecret(db: Db, tenantId: string, id: string, secret: string, graceSeconds: number): Promise<(Webhook & { previousSecretExpiresAt: string }) | undefined> {
  const changed = await guardedChange(
    db,
    tenantId,
    id,
    sql`UPDATE delivery_endpoints p SET previous_secret = p.secret, previous_secret_until = now() + make_interval(secs => ${graceSeconds}),
          secret = ${secret}, version = p.version + 1, updated_at = now()
        FROM target t WHERE p.id = t.id RETURNING p.*`,
    sql`, changed.previous_secret_until AS until`,
  );
  if (!("webhook" in changed)) return undefined;
  return { ...changed.webhook, previousSecretExpiresAt: (changed as { until?: string }).until! };
}

const versionOk = (expected: number | undefined) => (expected === undefined ? sql`true` : sql`p.version = ${expected}`);

async function guardedChange(db: Db, tenantId: string, id: string, change: ReturnType<typeof sql>, extra = sql``): Promise<Changed> {
  const rows = await query(
    db,
    sql`WITH target AS (SELECT id, version FROM delivery_endpoints WHERE tenant_id = ${tenantId} AND kind = ${KIND} AND id = ${id} FOR UPDATE),
        changed AS (${change})
        SELECT t.version AS current_version, ${endpointJson("changed")} AS webhook, changed.id AS changed_id ${extra}
        FROM target t LEFT JOIN changed ON true`,
  );
  const row = rows[0];
  if (!row) return { missing: true };
  if (row.changed_id === null || row.changed_id === undefined) return { stale: Number(row.current_version) };
  const webhook = toWebhook(row.webhook);
  return Object.assign({ webhook }, row.until !== undefined ? { until: new Date(String(row.until)).toISOString() } : {});
}

/** Queues a `webhook.test` delivery to the endpoint (whatever it subscribes to). */
export async function queueTest(db: Db, tenantId: string, id: string, payload: Record<string, unknown>): Promise<DeliveryInfo | undefined> {
  const rows = await query(
    db,
    sql`WITH ${enqueueCte("queued", tenantId, sql`SELECT p.id AS endpoint_id, 'webhook.test' AS event_type, ${JSON.stringify(payload)}::jsonb AS payload
          FROM delivery_endpoints p WHERE p.tenant_id = ${tenantId} AND p.kind = ${KIND} AND p.id = ${id}`)}
        SELECT ${DELIVERY_COLUMNS} FROM queued d`,
  );
  return rows[0] ? toDelivery(rows[0]) : undefined;
}

export interface DeliveryPage {
  items: DeliveryInfo[];
  next: { createdAt: string; id: string } | undefined;
}

/** Newest first, keyset on (created_at, id); undefined when the endpoint is not this tenant's. */
export async function listDeliveries(
  db: Db,
  tenantId: string,
  id: string,
  f: { status?: string; after?: { createdAt: string; id: string }; limit: number },
): Promise<DeliveryPage | undefined> {
  const where = [sql`d.endpoint_id = p.id`, sql`d.tenant_id = ${tenantId}`];
  if (f.status) where.push(sql`d.status = ${f.status}`);
  if (f.after) where.push(sql`(d.created_at, d.id) < (${f.after.createdAt}::timestamptz, ${f.after.id}::uuid)`);
  const rows = await query(
    db,
    sql`SELECT p.id AS endpoint, d.*, d.created_at::text AS created_key
        FROM (SELECT id FROM delivery_endpoints WHERE tenant_id = ${tenantId} AND kind = ${KIND} AND id = ${id}) p
        LEFT JOIN LATERAL (SELECT ${DELIVERY_COLUMNS} FROM deliveries d WHERE ${sql.join(where, sql` AND `)} ORDER BY d.created_at DESC, d.id DESC LIMIT ${f.limit}) d ON true`,
  );
  if (!rows[0]) return undefined;
  const found = rows.filter((r) => r.id !== null && r.id !== undefined);
  const last = found[found.length - 1];
  return { items: found.map(toDelivery), next: found.length === f.limit && last ? { createdAt: String(last.created_key), id: String(last.id) } : undefined };
}

/**
 * Replay: every event of [from, to) the endpoint subscribes to that it has not received is sent
 * again — dead-lettered deliveries become due now (a new round), events it has no delivery for (it was
 * disabled, or created later) get one. Delivered ones are left alone (resend those one by one).
 */
export async function replay(db: Db, tenantId: string, id: string, from: string, to: string, limit: number): Promise<{ requeued: number; created: number } | undefined> {
  const rows = await query(
    db,
    sql`WITH p AS (SELECT id, event_types FROM delivery_endpoints WHERE tenant_id = ${tenantId} AND kind = ${KIND} AND id = ${id} FOR UPDATE),
        chosen AS (
          SELECT e.id, e.type FROM events e, p
          WHERE e.tenant_id = ${tenantId} AND e.occurred_at >= ${from}::timestamptz AND e.occurred_at < ${to}::timestamptz
            AND (e.type = ANY (p.event_types) OR '*' = ANY (p.event_types))
          ORDER BY e.transaction_id, e.seq LIMIT ${limit}),
        requeued AS (
          UPDATE deliveries d SET status = 'pending', next_attempt_at = now(), round_start = d.attempts, updated_at = now()
          FROM chosen c, p WHERE d.endpoint_id = p.id AND d.event_id = c.id AND d.status = 'dead'
          RETURNING 1),
        created AS (
          INSERT INTO deliveries (id, tenant_id, endpoint_id, event_id, event_type)
          SELECT gen_random_uuid(), ${tenantId}, p.id, c.id, c.type FROM chosen c, p
          ON CONFLICT (endpoint_id, event_id) DO NOTHING
          RETURNING 1)
        SELECT (SELECT count(*)::int FROM requeued) AS requeued, (SELECT count(*)::int FROM created) AS created, p.id FROM p`,
  );
  return rows[0] ? { requeued: Number(rows[0].requeued), created: Number(rows[0].created) } : undefined;
}
