import { sql, type SQL } from "../../db/sql.js";

// The outbox writer. Domains never insert into `events` themselves: they append one of these CTEs to
// the statement that makes the change, so the change and its events commit (or roll back) together
// in the same round trip. A data-modifying CTE runs even when nothing reads it; when the change did
// not happen its source selects no rows, so a refused write (404/409/412/422) emits nothing.

export type ActorType = "user" | "api_key" | "system" | "public";

export interface Actor {
  type: ActorType;
  /** The user's or API key's id; a public actor's link (feedback token id) or null. */
  id: string | null;
}

/** Who a signed-in request acts as: its API key, or its person. */
export const actorOf = (auth: { userId: string; apiKeyId?: string }): Actor => (auth.apiKeyId ? { type: "api_key", id: auth.apiKeyId } : { type: "user", id: auth.userId });

export const SYSTEM: Actor = { type: "system", id: null };

/**
 * CTE `name`: inserts one event per row of `rows`, a SELECT yielding `type`, `resource_type`,
 * `resource_id` and `data` (jsonb). `tenantId` may be an SQL expression (public routes learn it in
 * the statement). Also adds CTE `<name>_deliveries`, the webhook deliveries of those events.
 */
export function eventsCte(name: string, tenantId: string | SQL, actor: Actor, rows: SQL): SQL {
  return sql`${sql.raw(name)} AS (
      INSERT INTO events (id, tenant_id, type, actor_type, actor_id, resource_type, resource_id, data)
      SELECT gen_random_uuid(), ${tenantId}, e.type, ${actor.type}, ${actor.id}::text, e.resource_type, e.resource_id::text, e.data::jsonb
      FROM (${rows}) e
      RETURNING id, tenant_id, type),
    ${sql.raw(name)}_deliveries AS (${webhookFanOut(name)})`;
}

/**
 * Webhook fan-out, in the same statement as the events: one delivery per new event per enabled
 * webhook endpoint of its tenant subscribed to its type (or "*"). Deliveries therefore exist exactly
 * when their event does (a refused or rolled-back write queues nothing) and are due the moment the
 * write commits, without waiting for the log's horizon (see README, Webhooks).
 */
function webhookFanOut(events: string): SQL {
  return sql`INSERT INTO deliveries (id, tenant_id, endpoint_id, event_id, event_type)
      SELECT gen_random_uuid(), e.tenant_id, w.id, e.id, e.type
      FROM ${sql.raw(events)} e JOIN delivery_endpoints w
        ON w.tenant_id = e.tenant_id AND w.kind = 'webhook' AND w.enabled AND (e.type = ANY (w.event_types) OR '*' = ANY (w.event_types))
      RETURNING 1`;
}

// An item's stock level: out (0), low (at or under its threshold) or ok. A change of level is an
// event: to out → item.out_of_stock, to low → item.stock_low (from ok or from out), to ok → item.restocked.
const level = (stock: string, threshold: string) => `CASE WHEN ${stock} <= 0 THEN 0 WHEN ${stock} <= ${threshold} THEN 1 ELSE 2 END`;

/**
 * CTE `name`: the stock-level events of the items in `source`, a SELECT yielding `id`, `name`, `sku`,
 * `before`, `after` (stock) and `threshold` (the item's low-stock threshold after the change).
 */
export function stockLevelEvents(name: string, tenantId: string | "per row", actor: Actor, source: SQL): SQL {
  // "per row": `source` also yields tenant_id (a write across tenants: the expire-lots cron).
  const perRow = tenantId === "per row";
  return eventsCte(
    name,
    perRow ? sql`e.tenant_id` : tenantId,
    actor,
    sql`SELECT CASE WHEN s.after <= 0 THEN 'item.out_of_stock' WHEN s.after <= s.threshold THEN 'item.stock_low' ELSE 'item.restocked' END AS type,
        'item' AS resource_type, s.id AS resource_id, ${perRow ? sql`s.tenant_id` : sql`NULL::uuid AS tenant_id`},
        jsonb_build_object('itemId', s.id, 'name', s.name, 'sku', s.sku, 'stock', s.after, 'previousStock', s.before, 'lowStockThreshold', s.threshold) AS data
      FROM (${source}) s
      WHERE ${sql.raw(level("s.before", "s.threshold"))} <> ${sql.raw(level("s.after", "s.threshold"))}`,
  );
}

/** An item row (alias `i`, a table or a RETURNING CTE) as the API renders it. */
export const itemJson = (i: string) =>
  sql.raw(`jsonb_build_object('id', ${i}.id, 'name', ${i}.name, 'description', ${i}.description, 'sku', ${i}.sku, 'priceCents', ${i}.price_cents,
    'stock', ${i}.stock, 'lowStockThreshold', ${i}.low_stock_threshold, 'lowStock', ${i}.stock <= ${i}.low_stock_threshold, 'category', ${i}.category,
    'categoryId', ${i}.category_id, 'published', ${i}.published, 'compareAtPriceCents', ${i}.compare_at_price_cents,
    'imageUrl', ${i}.image_url, 'version', ${i}.version, 'createdAt', ${i}.created_at, 'updatedAt', ${i}.updated_at, 'deletedAt', ${i}.deleted_at)`);
