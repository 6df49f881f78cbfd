import { getDb } from "../../db/client.js";
import { decodeDeliveryCursor, encodeDeliveryCursor } from "../delivery/cursor.js";
import { newId } from "../../db/ids.js";
import type { AuthContext } from "../auth/session.js";
import { invalidate } from "../cache/response-cache.js";
import { endpointsChanged, kick } from "../delivery/kick.js";
import { newSecret } from "../delivery/signing.js";
import { actorOf } from "../events/outbox.js";
import { conflict, notFound } from "../http/errors.js";
import * as repo from "./repo.js";
import type { ConnectorDeliveryQueryInput, ConnectorPutInput, ConnectorReplayInput } from "./schemas.js";

/** Dead deliveries one replay may queue again. */
export const MAX_REPLAY_DELIVERIES = 10_000;

/** How long a rotated-out secret keeps signing beside the new one (as for webhooks). */
export const ROTATION_GRACE_S = 24 * 3600;

const missing = () => notFound("Connector");

/** 201 with the secret (shown this once) when the channel had no connector; 200 without it otherwise. */
export async function putConnector(auth: AuthContext, channel: string, input: ConnectorPutInput) {
  const { db } = await getDb();
  const secret = newSecret();
  const { connector, created } = await repo.putConnector(db, auth.tenant.id, newId(), channel, input, secret);
  endpointsChanged(auth.tenant.id);
  // Enabled: messages that queued while it was disabled go out now.
  if (connector.enabled) kick(auth.tenant.id);
  return { connector: created ? { ...connector, secret } : connector, created };
}

export async function listConnectors(auth: AuthContext) {
  const { db } = await getDb();
  return { items: await repo.listConnectors(db, auth.tenant.id) };
}

export async function getConnector(auth: AuthContext, channel: string) {
  const { db } = await getDb();
  const connector = await repo.getConnector(db, auth.tenant.id, channel);
  if (!connector) throw missing();
  return connector;
}

export async function deleteConnector(auth: AuthContext, channel: string) {
  const { db } = await getDb();
  const result = await repo.deleteConnector(db, auth.tenant.id, channel, actorOf(auth));
  if (!result) throw missing();
  // Messages that were waiting for it failed: their events wake the streams.
  if (result.failed > 0) await invalidate(auth.tenant.id, ["conversations"]);
}

export async function rotateSecret(auth: AuthContext, channel: string) {
  const { db } = await getDb();
  const secret = newSecret();
  const connector = await repo.rotateSecret(db, auth.tenant.id, channel, secret, ROTATION_GRACE_S);
  if (!connector) throw missing();
  return { ...connector, secret };
}

export async function listDeliveries(auth: AuthContext, channel: string, q: ConnectorDeliveryQueryInput) {
  const { db } = await getDb();
  const page = await repo.listDeliveries(db, auth.tenant.id, channel, { ...q, after: q.cursor ? decodeDeliveryCursor(q.cursor) : undefined });
  if (!page) throw missing();
  return { items: page.items, pagination: { limit: q.limit, nextCursor: page.next ? encodeDeliveryCursor(page.next) : null } };
}

export async function retryDelivery(auth: AuthContext, channel: string, deliveryId: string) {
  const { db } = await getDb();
  const result = await repo.retryDelivery(db, auth.tenant.id, channel, deliveryId, actorOf(auth));
  if (!result) throw notFound("Delivery");
  if ("busy" in result) throw conflict("An attempt of this delivery is in flight; retry once it has finished.");
  // Wakes the streams (the message may be queued again) and sends it now.
  await invalidate(auth.tenant.id, ["conversations"]);
  return result;
}

export async function replay(auth: AuthContext, channel: string, input: ConnectorReplayInput) {
  const { db } = await getDb();
  const to = input.to ?? new Date().toISOString();
  const result = await repo.replay(db, auth.tenant.id, channel, input.from, to, MAX_REPLAY_DELIVERIES, actorOf(auth));
  if (!result) throw missing();
  if (result.requeued > 0) await invalidate(auth.tenant.id, ["conversations"]);
  return result;
}
