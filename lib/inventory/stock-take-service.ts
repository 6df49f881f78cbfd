import { getDb } from "../../db/client.js";
import { classifyDbError } from "../../db/errors.js";
import { newId } from "../../db/ids.js";
import type { AuthContext, Tenant } from "../auth/session.js";
import { invalidate } from "../cache/response-cache.js";
import { actorOf } from "../events/outbox.js";
import { ApiError, notFound } from "../http/errors.js";
import * as repo from "./stock-take-repo.js";
import type { StockTakeCreateInput } from "./schemas.js";

export async function startStockTake(auth: AuthContext, input: StockTakeCreateInput) {
  const { db } = await getDb();
  try {
    return await repo.insertStockTake(db, auth.tenant.id, newId(), auth.userId, input);
  } catch (error) {
    const failure = classifyDbError(error);
    if (failure?.kind === "rule_failed" && failure.rule?.code === "unknown_items") {
      const entries = (failure.rule.detail ?? []) as { itemId: string; position: number }[];
      throw new ApiError("unprocessable", "Some items do not exist or are deleted.", entries.map((e) => ({ path: `lines.${e.position}.itemId`, message: "unknown or deleted item", itemId: e.itemId })));
    }
    if (failure?.kind === "rule_failed" && failure.rule?.code === "unknown_lots") {
      const entries = (failure.rule.detail ?? []) as { itemId: string; lotId: string; position: number }[];
      throw new ApiError("unprocessable", "Some lots do not exist or are not lots of the line's item.", entries.map((e) => ({ path: `lines.${e.position}.lotId`, message: "unknown lot for this item", itemId: e.itemId, lotId: e.lotId })));
    }
    throw error;
  }
}

export async function getStockTake(tenant: Tenant, id: string) {
  const { db } = await getDb();
  const take = await repo.findStockTake(db, tenant.id, id);
  if (!take) throw notFound("Stock-take");
  return take;
}

export async function applyStockTake(auth: AuthContext, id: string) {
  const { db } = await getDb();
  const outcome = await repo.applyStockTake(db, auth.tenant.id, id, auth.userId, actorOf(auth));
  if (outcome.take) {
    await invalidate(auth.tenant.id, ["items", "analytics"]);
    return outcome.take;
  }
  if (outcome.status === undefined) throw notFound("Stock-take");
  throw new ApiError("conflict", "This stock-take was already applied.", [{ path: "status", message: outcome.status }]);
}
