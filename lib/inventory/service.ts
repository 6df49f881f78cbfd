import { getDb } from "../../db/client.js";
import { newId } from "../../db/ids.js";
import type { Tenant } from "../auth/session.js";
import { invalidate } from "../cache/response-cache.js";
import { notFound, staleVersion } from "../http/errors.js";
import { page } from "../http/inputs.js";
import * as repo from "./repo.js";
import type { ItemSupplierLinkInput, SupplierCreateInput, SupplierListInput, SupplierUpdateInput } from "./schemas.js";

export async function listSuppliers(tenant: Tenant, input: SupplierListInput) {
  const { db } = await getDb();
  const { items, total } = await repo.listSuppliers(db, tenant.id, input);
  return page(items, total, input.page, input.limit);
}

export async function getSupplier(tenant: Tenant, id: string) {
  const { db } = await getDb();
  const supplier = await repo.findSupplier(db, tenant.id, id);
  if (!supplier) throw notFound("Supplier");
  return supplier;
}

export async function createSupplier(tenant: Tenant, input: SupplierCreateInput) {
  const { db } = await getDb();
  const supplier = await repo.insertSupplier(db, tenant.id, newId(), input);
  await invalidate(tenant.id, ["suppliers"]);
  return supplier;
}

/** Update (partial) or soft delete; item responses embed supplier names, purchase orders too. */
export async function writeSupplier(tenant: Tenant, id: string, input: SupplierUpdateInput | "remove", expectedVersion: number | undefined) {
  const { db } = await getDb();
  const outcome = await repo.writeSupplier(db, tenant.id, id, input, expectedVersion);
  if ("missing" in outcome) throw notFound("Supplier");
  if ("staleVersion" in outcome) throw staleVersion("supplier", outcome.staleVersion);
  await invalidate(tenant.id, ["suppliers", "items", "purchase-orders", "analytics"]);
  return outcome.supplier;
}

export async function listItemSuppliers(tenant: Tenant, itemId: string) {
  const { db } = await getDb();
  const links = await repo.listItemSuppliers(db, tenant.id, itemId);
  if (!links) throw notFound("Item");
  return { items: links };
}

export async function linkItemSupplier(tenant: Tenant, itemId: string, supplierId: string, input: ItemSupplierLinkInput) {
  const { db } = await getDb();
  const outcome = await repo.upsertItemSupplier(db, tenant.id, itemId, supplierId, input);
  if ("missing" in outcome) throw notFound(outcome.missing === "item" ? "Item" : "Supplier");
  await invalidate(tenant.id, ["items", "analytics"]);
  return outcome.link;
}

export async function unlinkItemSupplier(tenant: Tenant, itemId: string, supplierId: string) {
  const { db } = await getDb();
  if (!(await repo.deleteItemSupplier(db, tenant.id, itemId, supplierId))) throw notFound("Item supplier link");
  await invalidate(tenant.id, ["items", "analytics"]);
}
