import { getDb, type Db } from "../../db/client.js";
import { fromJson, toIso, toNumber } from "../../db/values.js";
import { invalidate } from "../cache/response-cache.js";
import { config } from "../platform/config.js";
import { log } from "../platform/log.js";
import { errorFields } from "../platform/log-error.js";
import { readWatermark, rebuildChangedTimezones, refreshRollups } from "./rollup-repo.js";

export type RefreshResult =
  | { refreshed: true; changedOrders: number; days: number; rowsWritten: number; rowsDeleted: number; watermark: string; rebuiltTenants: number }
  | { refreshed: false; reason: string };

/**
 * Brings the sales rollups up to date with every order changed since the last run. Two round trips:
 * reading the watermark, then one atomic batch that claims the run and refreshes. The watermark
 * travels as a bound value so Postgres plans the changed-orders scan with the real value (an index
 * range over orders.updated_at) instead of a guess that could pick a full scan.
 */
export async function refreshAnalytics(db?: Db): Promise<RefreshResult> {
  const database = db ?? (await getDb()).db;
  const watermark = await readWatermark(database);
  const row = await refreshRollups(database, watermark, config.analyticsMarginSeconds());
  if (row.claimed !== true) return { refreshed: false, reason: "Another refresh is running or has just finished." };
  // Tenants whose timezone changed: rebuilt in a transaction of their own, only when there are any.
  let rebuilt: string[] = [];
  if (row.rebuild_pending === true || row.rebuild_pending === "t") {
    try {
      rebuilt = fromJson<string[]>((await rebuildChangedTimezones(database)).rebuilt ?? "[]");
    } catch (error) {
      log("warn", "analytics timezone rebuild failed; the next refresh retries it", errorFields(error));
    }
  }
  // Cached reports of the tenants whose days changed are stale now, not in a minute.
  const tenants = new Set([...fromJson<string[]>(row.tenants), ...rebuilt]);
  await Promise.all([...tenants].map((tenantId) => invalidate(tenantId, ["analytics"])));
  return {
    refreshed: true,
    changedOrders: toNumber(row.changed_orders),
    days: toNumber(row.days),
    rowsWritten: toNumber(row.rows_written),
    rowsDeleted: toNumber(row.rows_deleted),
    watermark: toIso(row.watermark),
    // Tenants whose rollups were rebuilt in their new timezone (see rollup-repo.ts, rebuild).
    rebuiltTenants: rebuilt.length,
  };
}
