import { getDb } from "../../db/client.js";
import { classifyDbError } from "../../db/errors.js";
import { newId } from "../../db/ids.js";
import type { AuthContext, Tenant } from "../auth/session.js";
import { ApiError, notFound } from "../http/errors.js";
import { page } from "../http/inputs.js";
import { earlierResult, refusalOf, type IdempotencyRequest } from "../idempotency/keys.js";
import { invalidate } from "../cache/response-cache.js";
import * as repo from "./repo.js";
import type { StockAdjustmentInput } from "./schemas.js";
import { actorOf } from "../events/outbox.js";

export async function adjustStock(auth: AuthContext, itemId: string, input: StockAdjustmentInput, idem: IdempotencyRequest | undefined) {
  const { db } = await getDb();
  let written: Awaited<ReturnType<typeof repo.adjustStock>>;
  try {
    written = await repo.adjustStock(db, auth.tenant.id, auth.userId, itemId, newId(), input.delta, input.reason, idem, actorOf(auth));
  } catch (error) {
    // Refused: the statement raised, so nothing was kept — the Idempotency-Key included.
    const current = refusalOf(classifyDbError(error));
    if (!current) throw error;
    if (current.stock === null || current.stock === undefined) throw notFound("Item");
    const available = Number(current.unlotted ?? current.stock);
    const inLots = Number(current.stock) - available;
    throw new ApiError("insufficient_stock", inLots > 0 ? `Unlotted stock cannot go below zero (${available} unlotted, ${inLots} in lots: count a lot to change it).` : `Stock cannot go below zero (${available} in stock).`, [
      { path: "delta", message: `${-input.delta} requested, ${available} available`, itemId, requested: -input.delta, available },
    ]);
  }
  const { row, item, movement, replayed } = written;
  const earlier = await earlierResult(db, row, idem, auth.tenant.id, replayed, (id) => repo.findAdjustment(db, auth.tenant.id, id));
  if (earlier) return { ...earlier, replayed: true };
  await invalidate(auth.tenant.id, ["items"]);
  return { item: item!, movement: movement!, replayed: false };
}

export async function listMovements(tenant: Tenant, itemId: string, input: { page: number; limit: number }) {
  const { db } = await getDb();
  const { found, total, items } = await repo.listMovements(db, tenant.id, itemId, input.page, input.limit);
  if (!found) throw notFound("Item");
  return page(items, total, input.page, input.limit);
}
