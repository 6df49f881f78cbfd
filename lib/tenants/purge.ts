import { getDb } from "../../db/client.js";
import { deleteQueuedBlobs } from "../images/service.js";
import { purgeTenants } from "./repo.js";

/** Tenants purged per statement: each takes all its rows with it, so keep a run's work bounded. */
export const PURGE_BATCH = 10;

/**
 * The purge-tenants cron: hard-deletes tenants soft-deleted more than 30 days ago. A tenant with
 * item images first has them queued (same statement) and deleted; the second statement then purges
 * it. What failed to delete stays queued with its tenant (blob-cleanup retries it; a later run
 * purges the tenant once its queue is empty), so no blob is ever orphaned.
 */
export async function purgeDeletedTenants(limit = PURGE_BATCH) {
  const { db } = await getDb();
  const first = await purgeTenants(db, limit);
  let purged = first.purged.length;
  let waiting = first.waiting;
  if (first.queued.length) {
    await deleteQueuedBlobs(first.queued);
    const second = await purgeTenants(db, limit);
    purged += second.purged.length;
    waiting = second.waiting;
  }
  return { purged, imagesQueued: first.queued.length, waitingForBlobs: waiting };
}
