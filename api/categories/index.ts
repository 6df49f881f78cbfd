import { CategoryCreate, CategoryListOut, CategoryOut } from "../../lib/categories/schemas.js";
import { createCategory, listCategories } from "../../lib/categories/service.js";
import { created } from "../../lib/http/reply.js";
import { route, preflight } from "../../lib/http/route.js";

const path = "/api/categories";

export const GET = route(path, { auth: "staff", output: CategoryListOut, cache: { ttl: 86400, tags: ["categories"] } }, ({ auth }) => listCategories(auth.tenant));

export const POST = route(path, { auth: "admin", body: CategoryCreate, output: CategoryOut, status: 201, errors: ["slug_taken"] }, async ({ auth, body }) => {
  const category = await createCategory(auth.tenant, body);
  return created(category, `/api/categories/${category.id}`, category.version);
});

export const OPTIONS = preflight;
