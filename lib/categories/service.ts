import { getDb } from "../../db/client.js";
import { classifyDbError } from "../../db/errors.js";
import { newId } from "../../db/ids.js";
import type { Tenant } from "../auth/session.js";
import { invalidate } from "../cache/response-cache.js";
import { ApiError, notFound, staleVersion } from "../http/errors.js";
import * as repo from "./repo.js";
import { categorySlugFromName, type CategoryCreateInput, type CategoryUpdateInput } from "./schemas.js";

// Categories show in the admin list, on items (their name) and in the shop: writes bump all three.
const TAGS = ["categories", "items"];

function writeError(error: unknown): unknown {
  const failure = classifyDbError(error);
  if ((failure?.kind === "unique_violation" && failure.constraint === "categories_tenant_slug_key") || (failure?.kind === "rule_failed" && failure.rule?.code === "slug_taken")) {
    return new ApiError("slug_taken", "Another category of this shop already uses that slug.", [{ path: "slug", message: "already taken" }]);
  }
  if (failure?.kind === "foreign_key_violation" || (failure?.kind === "rule_failed" && failure.rule?.code === "unknown_parent")) {
    return new ApiError("unprocessable", "Invalid body.", [{ path: "parentId", message: "unknown category" }]);
  }
  if (failure?.kind === "check_violation" || (failure?.kind === "rule_failed" && failure.rule?.code === "category_cycle")) {
    return new ApiError("unprocessable", "Invalid body.", [{ path: "parentId", message: "would put the category inside itself" }]);
  }
  return error;
}

async function attempt<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    throw writeError(error);
  }
}

function settle(outcome: repo.CategoryWrite): repo.Category {
  if ("category" in outcome) return outcome.category;
  if ("missing" in outcome) throw notFound("Category");
  throw staleVersion("category", outcome.staleVersion);
}

export async function listCategories(tenant: Tenant) {
  const { db } = await getDb();
  return { items: await repo.listCategories(db, tenant.id) };
}

export async function createCategory(tenant: Tenant, input: CategoryCreateInput) {
  const { db } = await getDb();
  const category = await attempt(() => repo.insertCategory(db, tenant.id, newId(), { ...input, slug: input.slug ?? categorySlugFromName(input.name) }));
  await invalidate(tenant.id, TAGS);
  return category;
}

export async function updateCategory(tenant: Tenant, id: string, input: Omit<CategoryUpdateInput, "version">, expected: number | undefined) {
  const { db } = await getDb();
  const category = settle(await attempt(() => repo.updateCategory(db, tenant.id, id, input, expected)));
  await invalidate(tenant.id, TAGS);
  return category;
}

export async function deleteCategory(tenant: Tenant, id: string, expected: number | undefined) {
  const { db } = await getDb();
  const category = settle(await repo.deleteCategory(db, tenant.id, id, expected));
  await invalidate(tenant.id, TAGS);
  return category;
}
