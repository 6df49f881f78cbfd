import { sql } from "drizzle-orm/sql/sql";
import { randomUUID } from "node:crypto";
import { query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { newSecret } from "../../lib/delivery/signing.js";

/** Port 9 (discard) on loopback: nothing listens, so attempts fail at once without side effects. */
export const WALK_HOOK_URL = "http://127.0.0.1:9/hook";

/** A webhook endpoint of the tenant (subscribed to nothing that the walk writes). */
export async function insertWebhook(db: Db, tenantId: string, url = WALK_HOOK_URL): Promise<string> {
  const id = randomUUID();
  await query(db, sql`INSERT INTO delivery_endpoints (id, tenant_id, kind, url, secret, event_types) VALUES (${id}, ${tenantId}, 'webhook', ${url}, ${newSecret()}, ARRAY['webhook.disabled'])`);
  return id;
}

/** A dead-lettered delivery (stored payload) on a new endpoint of the tenant. */
export async function insertDeadDelivery(db: Db, tenantId: string): Promise<{ endpointId: string; deliveryId: string }> {
  const endpointId = await insertWebhook(db, tenantId);
  const deliveryId = randomUUID();
  await query(
    db,
    sql`INSERT INTO deliveries (id, tenant_id, endpoint_id, event_type, payload, status, attempts) VALUES (${deliveryId}, ${tenantId}, ${endpointId}, 'webhook.test', '{"type":"webhook.test"}'::jsonb, 'dead', 10)`,
  );
  return { endpointId, deliveryId };
}

/** A chat connector of the tenant on `channel` (lib/connectors), pointing at `url` (default: nothing listens). */
export async function insertConnector(db: Db, tenantId: string, channel = "instagram", url = WALK_HOOK_URL): Promise<string> {
  // One per tenant and channel: a second call (the walks reuse tenants) points the existing one at `url`.
  const [row] = await query(
    db,
    sql`INSERT INTO delivery_endpoints (id, tenant_id, kind, channel, url, secret) VALUES (${randomUUID()}, ${tenantId}, 'connector', ${channel}, ${url}, ${newSecret()})
        ON CONFLICT (tenant_id, channel) WHERE kind = 'connector' DO UPDATE SET url = excluded.url, enabled = true RETURNING id`,
  );
  return String(row!.id);
}

/** Removes the tenant's connector of `channel`, if any (so a PUT creates one). */
export async function removeConnector(db: Db, tenantId: string, channel: string): Promise<void> {
  await query(db, sql`DELETE FROM delivery_endpoints WHERE tenant_id = ${tenantId} AND kind = 'connector' AND channel = ${channel}`);
}

/** A dead-lettered connector delivery (stored payload, no message) on the tenant's connector of `channel`. */
export async function insertDeadConnectorDelivery(db: Db, tenantId: string, channel = "instagram"): Promise<{ endpointId: string; deliveryId: string }> {
  const endpointId = await insertConnector(db, tenantId, channel);
  const deliveryId = randomUUID();
  await query(
    db,
    sql`INSERT INTO deliveries (id, tenant_id, endpoint_id, event_type, payload, status, attempts) VALUES (${deliveryId}, ${tenantId}, ${endpointId}, 'message.outbound', '{"type":"message.outbound"}'::jsonb, 'dead', 10)`,
  );
  return { endpointId, deliveryId };
}
