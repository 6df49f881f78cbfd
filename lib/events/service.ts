import { getDb } from "../../db/client.js";
import type { Tenant } from "../auth/session.js";
import { config } from "../platform/config.js";
import { log } from "../platform/log.js";
import * as repo from "./repo.js";
import type { EventListInput } from "./schemas.js";

/** GET /api/events: the audit trail, in commit order, one keyset page (`nextCursor` while pages are full). */
export async function listEvents(tenant: Tenant, input: EventListInput) {
  const { db } = await getDb();
  const items = await repo.listEvents(db, tenant.id, {
    types: input.type,
    resourceType: input.resource?.type,
    resourceId: input.resource?.id,
    actorType: input.actor?.type,
    actorId: input.actor?.id,
    from: input.from,
    to: input.to,
    cursor: input.cursor,
    limit: input.limit,
  });
  const full = items.length === input.limit;
  return { items, pagination: { limit: input.limit, nextCursor: full ? items.at(-1)!.cursor : null } };
}

// Deletes in bounded batches so one run never holds a huge transaction; a backlog bigger than one
// run's share is finished by the next runs.
const RETENTION_BATCH = 5_000;
const RETENTION_BATCHES_PER_RUN = 20;

/** The retention cron: events older than EVENTS_RETENTION_DAYS (default 90) are deleted. */
export async function enforceRetention() {
  const { db } = await getDb();
  const days = config.eventsRetentionDays();
  let deleted = 0;
  for (let i = 0; i < RETENTION_BATCHES_PER_RUN; i++) {
    const n = await repo.deleteExpired(db, days, RETENTION_BATCH);
    deleted += n;
    if (n < RETENTION_BATCH) break;
  }
  log("info", "events retention", { days, deleted });
  return { retentionDays: days, deleted };
}

