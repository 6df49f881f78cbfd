import { getDb } from "../../db/client.js";
import { newId } from "../../db/ids.js";
import type { Tenant } from "../auth/session.js";
import { notFound, staleVersion } from "../http/errors.js";
import { page } from "../http/inputs.js";
import { invalidate } from "../cache/response-cache.js";
import * as repo from "./repo.js";
import type { CustomerInput, CustomerListInput, CustomerUpdateInput } from "./schemas.js";

export async function listCustomers(tenant: Tenant, input: CustomerListInput) {
  const { db } = await getDb();
  const { items, total } = await repo.listCustomers(db, tenant.id, input);
  return page(items, total, input.page, input.limit);
}

export async function getCustomer(tenant: Tenant, id: string) {
  const { db } = await getDb();
  const customer = await repo.findCustomer(db, tenant.id, id);
  if (!customer) throw notFound("Customer");
  return customer;
}

export async function createCustomer(tenant: Tenant, input: CustomerInput) {
  const { db } = await getDb();
  const customer = await repo.insertCustomer(db, tenant.id, newId(), input);
  await invalidate(tenant.id, ["customers"]);
  return customer;
}

export async function updateCustomer(tenant: Tenant, id: string, input: CustomerUpdateInput, expectedVersion: number | undefined) {
  const { db } = await getDb();
  const outcome = await repo.updateCustomer(db, tenant.id, id, input, expectedVersion);
  if ("customer" in outcome) {
    // Orders embed their customer.
    await invalidate(tenant.id, ["customers", "orders"]);
    return outcome.customer;
  }
  if ("missing" in outcome) throw notFound("Customer");
  throw staleVersion("customer", outcome.staleVersion);
}
