import { getDb } from "../../db/client.js";
import { decodeDeliveryCursor, encodeDeliveryCursor } from "../delivery/cursor.js";
import { newId } from "../../db/ids.js";
import type { AuthContext } from "../auth/session.js";
import { endpointsChanged, kick } from "../delivery/kick.js";
import { requeue } from "../delivery/repo.js";
import { newSecret } from "../delivery/signing.js";
import { conflict, notFound, staleVersion } from "../http/errors.js";
import * as repo from "./repo.js";
import type { WebhookCreateInput, WebhookReplayInput, WebhookUpdateInput } from "./schemas.js";

/** How long a rotated-out secret keeps signing beside the new one. */
export const ROTATION_GRACE_S = 24 * 3600;
/** Events one replay may queue. */
export const MAX_REPLAY_EVENTS = 10_000;

export async function createWebhook(auth: AuthContext, input: WebhookCreateInput) {
  const { db } = await getDb();
  const secret = newSecret();
  const webhook = await repo.insertWebhook(db, auth.tenant.id, newId(), input, secret);
  if (!webhook) throw conflict(`A tenant can have at most ${repo.MAX_WEBHOOKS} webhook endpoints.`);
  endpointsChanged(auth.tenant.id);
  // The only time the secret is shown.
  return { ...webhook, secret };
}

export async function listWebhooks(auth: AuthContext) {
  const { db } = await getDb();
  return { items: await repo.listWebhooks(db, auth.tenant.id) };
}

export async function getWebhook(auth: AuthContext, id: string) {
  const { db } = await getDb();
  const webhook = await repo.getWebhook(db, auth.tenant.id, id);
  if (!webhook) throw notFound("Webhook");
  return webhook;
}

function settle(changed: repo.Changed): repo.Webhook {
  if ("missing" in changed) throw notFound("Webhook");
  if ("stale" in changed) throw staleVersion("webhook", changed.stale);
  return changed.webhook;
}

export async function updateWebhook(auth: AuthContext, id: string, input: WebhookUpdateInput, expected: number | undefined) {
  const { db } = await getDb();
  const webhook = settle(await repo.updateWebhook(db, auth.tenant.id, id, input, expected));
  endpointsChanged(auth.tenant.id);
  // Re-enabled: what queued up while it was disabled goes out now.
  if (webhook.enabled) kick(auth.tenant.id);
  return webhook;
}

export async function deleteWebhook(auth: AuthContext, id: string, expected: number | undefined) {
  const { db } = await getDb();
  settle(await repo.deleteWebhook(db, auth.tenant.id, id, expected));
}

export async function rotateSecret(auth: AuthContext, id: string) {
  const { db } = await getDb();
  const secret = newSecret();
  const webhook = await repo.rotateSecret(db, auth.tenant.id, id, secret, ROTATION_GRACE_S);
  if (!webhook) throw notFound("Webhook");
  return { ...webhook, secret };
}

export async function sendTest(auth: AuthContext, id: string) {
  const { db } = await getDb();
  const payload = {
    type: "webhook.test",
    occurredAt: new Date().toISOString(),
    tenantId: auth.tenant.id,
    data: { webhookId: id, message: "A test delivery from Tally." },
  };
  const delivery = await repo.queueTest(db, auth.tenant.id, id, payload);
  if (!delivery) throw notFound("Webhook");
  endpointsChanged(auth.tenant.id);
  kick(auth.tenant.id);
  return delivery;
}

export async function listDeliveries(auth: AuthContext, id: string, q: { status?: string; limit: number; cursor?: string }) {
  const { db } = await getDb();
  const page = await repo.listDeliveries(db, auth.tenant.id, id, { ...q, after: q.cursor ? decodeDeliveryCursor(q.cursor) : undefined });
  if (!page) throw notFound("Webhook");
  return { items: page.items, pagination: { limit: q.limit, nextCursor: page.next ? encodeDeliveryCursor(page.next) : null } };
}

export async function retryDelivery(auth: AuthContext, id: string, deliveryId: string) {
  const { db } = await getDb();
  const result = await requeue(db, auth.tenant.id, "webhook", id, deliveryId, new Date());
  if (!result) throw notFound("Delivery");
  if ("busy" in result) throw conflict("An attempt of this delivery is in flight; retry once it has finished.");
  kick(auth.tenant.id);
  return result;
}

export async function replay(auth: AuthContext, id: string, input: WebhookReplayInput) {
  const { db } = await getDb();
  const to = input.to ?? new Date().toISOString();
  const result = await repo.replay(db, auth.tenant.id, id, input.from, to, MAX_REPLAY_EVENTS);
  if (!result) throw notFound("Webhook");
  if (result.requeued + result.created > 0) kick(auth.tenant.id);
  return result;
}
