import type { Db } from "../../db/client.js";
import { START } from "../../lib/events/cursor.js";
import { readAfter } from "../../lib/events/repo.js";

/**
 * Waits until none of the tenant's events is above the commit horizon. On a Postgres cluster shared
 * with other work (this machine runs several suites at once) any transaction open anywhere holds
 * the horizon back, so an event written a moment ago may not be readable yet — by design (see
 * lib/events/repo.ts). Tests that read the log right after writing wait for it first.
 */
export async function eventsSettled(db: Db, tenantId: string, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while ((await readAfter(db, tenantId, START, 1)).unsettled) {
    if (Date.now() > until) throw new Error(`events of tenant ${tenantId} still settling after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
