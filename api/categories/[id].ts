import { CategoryOut, CategoryUpdate } from "../../lib/categories/schemas.js";
import { deleteCategory, updateCategory } from "../../lib/categories/service.js";
import { IdParams } from "../../lib/http/inputs.js";
import { expectedVersion } from "../../lib/http/preconditions.js";
import { reply } from "../../lib/http/reply.js";
import { route, preflight } from "../../lib/http/route.js";

const path = "/api/categories/[id]";

export const PUT = route(path, { auth: "admin", params: IdParams, body: CategoryUpdate, output: CategoryOut, errors: ["slug_taken", "precondition_failed"] }, async ({ auth, params, body, request }) => {
  const { version, ...changes } = body;
  const category = await updateCategory(auth.tenant, params.id, changes, expectedVersion(request, version));
  return reply(category, { version: category.version });
});

// Children move up to the deleted category's parent; its items become uncategorised.
export const DELETE = route(path, { auth: "admin", params: IdParams, output: CategoryOut, errors: ["precondition_failed"] }, async ({ auth, params, request }) => {
  const category = await deleteCategory(auth.tenant, params.id, expectedVersion(request));
  return reply(category);
});

export const OPTIONS = preflight;
