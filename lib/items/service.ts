import { getDb } from "../../db/client.js";
import { classifyDbError } from "../../db/errors.js";
import { newId } from "../../db/ids.js";
import type { AuthContext, Tenant } from "../auth/session.js";
import { invalidate } from "../cache/response-cache.js";
import { actorOf } from "../events/outbox.js";
import { ApiError, conflict, notFound, staleVersion } from "../http/errors.js";
import { page } from "../http/inputs.js";
import { deleteQueuedBlobs } from "../images/service.js";
import { waitUntil } from "../platform/wait-until.js";
import * as repo from "./repo.js";
import type { ItemCreateInput, ItemListInput, ItemUpdateInput } from "./schemas.js";

const SKU_TAKEN = () => conflict("Another live item already uses this SKU.", [{ path: "sku", message: "already in use" }]);

/** A duplicate SKU is the one constraint a caller can fix, so it gets a precise answer. */
async function withSkuCheck<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    const failure = classifyDbError(error);
    if (failure?.kind === "unique_violation" && failure.constraint === "items_tenant_sku_live_key") throw SKU_TAKEN();
    if (failure?.kind === "rule_failed" && failure.rule?.code === "unknown_category") throw new ApiError("unprocessable", "Invalid body.", [{ path: "categoryId", message: "unknown category" }]);
    if (failure?.kind === "rule_failed" && failure.rule?.code === "below_lot_stock") {
      const { lotStock } = failure.rule.detail as { lotStock: number };
      throw new ApiError("insufficient_stock", `${lotStock} units of this item are in lots: stock cannot be set below that (count a lot with a stock-take to change it).`, [
        { path: "stock", message: `must be at least ${lotStock} (units in lots)`, available: lotStock },
      ]);
    }
    throw error;
  }
}

function settle(outcome: repo.Guarded, wrongState: () => ApiError): repo.Item {
  if ("item" in outcome) return outcome.item;
  if ("missing" in outcome) throw notFound("Item");
  if ("wrongState" in outcome) throw wrongState();
  if ("staleVersion" in outcome) throw staleVersion("item", outcome.staleVersion);
  // Another write to the item landed while this one ran; nothing was changed. With If-Match that
  // is simply a failed precondition (the version moved on).
  if (outcome.conditional) throw new ApiError("precondition_failed", "The item changed while this request ran; reload it and retry.", [{ path: "version", message: "stale" }]);
  throw new ApiError("conflict", "The item changed while this request ran; reload and retry.", undefined, { "Retry-After": "1" });
}

const deletedIsMissing = () => notFound("Item");

/** Every cached items response of the tenant goes stale before the write is answered. */
async function changed<T>(tenant: Tenant, result: T): Promise<T> {
  // Items show in category counts and in the shop (whose caches read both tags).
  await invalidate(tenant.id, ["items", "categories"]);
  return result;
}

export async function listItems(tenant: Tenant, input: ItemListInput) {
  const { db } = await getDb();
  const { items, total } = await repo.listLiveItems(db, tenant.id, input);
  return page(items, total, input.page, input.limit);
}

/** Items at or under their low-stock threshold: GET /api/items?lowStock=true under its own path. */
export const listLowStockItems = (tenant: Tenant, input: Omit<ItemListInput, "lowStock">) => listItems(tenant, { ...input, lowStock: true });

export async function listDeletedItems(tenant: Tenant, input: { page: number; limit: number }) {
  const { db } = await getDb();
  const { items, total } = await repo.listDeletedItems(db, tenant.id, input.page, input.limit);
  return page(items, total, input.page, input.limit);
}

export async function getItem(tenant: Tenant, id: string) {
  const { db } = await getDb();
  const item = await repo.findLiveItemWithSuppliers(db, tenant.id, id);
  if (!item) throw notFound("Item");
  return item;
}

export async function createItem(auth: AuthContext, input: ItemCreateInput) {
  const { db } = await getDb();
  return changed(auth.tenant, await withSkuCheck(() => repo.insertItem(db, auth.tenant.id, newId(), input, actorOf(auth))));
}

/**
 * Setting `stock` must name the version it was decided on (If-Match or `version`): an unconditional
 * set would silently undo every sale made since the client looked. The difference is a ledger
 * movement ('set').
 */
export async function updateItem(auth: AuthContext, id: string, input: ItemUpdateInput, expectedVersion: number | undefined) {
  if (input.stock !== undefined && expectedVersion === undefined) {
    throw new ApiError("precondition_required", 'Setting stock needs the item\'s current version: send If-Match: "v<version>" (from its ETag) or "version" in the body.', [
      { path: "If-Match", message: "required when setting stock" },
    ]);
  }
  const { db } = await getDb();
  return changed(auth.tenant, settle(await withSkuCheck(() => repo.updateLiveItem(db, auth.tenant.id, auth.userId, id, input, expectedVersion, actorOf(auth))), deletedIsMissing));
}

export async function deleteItem(auth: AuthContext, id: string, expectedVersion: number | undefined) {
  const { db } = await getDb();
  return changed(auth.tenant, settle(await repo.softDeleteItem(db, auth.tenant.id, id, expectedVersion, actorOf(auth)), deletedIsMissing));
}

export async function restoreItem(auth: AuthContext, id: string, expectedVersion: number | undefined) {
  const { db } = await getDb();
  return changed(auth.tenant, settle(await withSkuCheck(() => repo.restoreItem(db, auth.tenant.id, id, expectedVersion, actorOf(auth))), () => conflict("The item is not deleted.")));
}

export async function purgeItem(auth: AuthContext, id: string, expectedVersion: number | undefined) {
  const tenant = auth.tenant;
  const { db } = await getDb();
  let outcome: repo.Guarded;
  try {
    outcome = await repo.purgeDeletedItem(db, tenant.id, id, expectedVersion, actorOf(auth));
  } catch (error) {
    // Orders and the stock ledger keep referring to the item; history is never rewritten.
    if (classifyDbError(error)?.kind === "foreign_key_violation") throw conflict("The item has order or stock history, so it stays soft-deleted.");
    throw error;
  }
  settle(outcome, () => conflict("Only a soft-deleted item can be deleted permanently; delete it first."));
  if ("item" in outcome) waitUntil(deleteQueuedBlobs(outcome.queued), "delete purged item's image");
  await changed(tenant, undefined);
}
