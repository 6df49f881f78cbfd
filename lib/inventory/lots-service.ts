import { getDb } from "../../db/client.js";
import type { Tenant } from "../auth/session.js";
import { invalidate } from "../cache/response-cache.js";
import { ApiError } from "../http/errors.js";
import { localDay } from "../analytics/service.js";
import * as repo from "./lots-repo.js";
import type { ExpireLotsInput, ExpiringSoonInput } from "./schemas.js";

/** Lots written off per cron run; a backlog beyond it is left for the next run (`remaining`). */
export const EXPIRE_BATCH = 5000;

/** The expire-lots cron (daily, vercel.json): writes off every expired lot, once (see lots-repo). */
export async function expireLots(input: ExpireLotsInput = {}) {
  const { db } = await getDb();
  const run = await repo.expireLots(db, EXPIRE_BATCH, input.tenant);
  // Items, analytics and the lists of every tenant touched go stale (one Redis pipeline: same tick).
  await Promise.all(run.tenants.map((t) => invalidate(t, ["items", "analytics"])));
  return { lots: run.lots, units: run.units, tenants: run.tenants.length, remaining: run.remaining };
}

const badCursor = () => new ApiError("bad_request", "Invalid query.", [{ path: "cursor", message: "is not a valid cursor" }]);

/** Keyset cursor: the last lot's expiry date and id. */
function decodeCursor(cursor: string): { expiresOn: string; id: string } {
  const m = /^(\d{4}-\d{2}-\d{2})\|([0-9a-f-]{36})$/.exec(Buffer.from(cursor, "base64url").toString("utf8"));
  if (!m || Number.isNaN(Date.parse(`${m[1]}T00:00:00Z`))) throw badCursor();
  return { expiresOn: m[1]!, id: m[2]! };
}

export async function expiringSoon(tenant: Tenant, input: ExpiringSoonInput) {
  const after = input.cursor === undefined ? undefined : decodeCursor(input.cursor);
  const { db } = await getDb();
  const { items, more } = await repo.listExpiring(db, tenant.id, input.days, input.limit, after);
  const last = items[items.length - 1];
  return {
    days: input.days,
    today: localDay(Date.now(), tenant.timezone),
    items,
    pagination: { limit: input.limit, nextCursor: more && last ? Buffer.from(`${last.expiresOn}|${last.lotId}`).toString("base64url") : null },
  };
}
