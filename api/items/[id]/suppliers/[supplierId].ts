import { noContent } from "../../../../lib/http/reply.js";
import { route, preflight } from "../../../../lib/http/route.js";
import { ItemSupplierLink, ItemSupplierOut, ItemSupplierParams } from "../../../../lib/inventory/schemas.js";
import { linkItemSupplier, unlinkItemSupplier } from "../../../../lib/inventory/service.js";

const path = "/api/items/[id]/suppliers/[supplierId]";

export const PUT = route(path, { auth: "admin", params: ItemSupplierParams, body: ItemSupplierLink, output: ItemSupplierOut }, ({ auth, params, body }) =>
  linkItemSupplier(auth.tenant, params.id, params.supplierId, body),
);

export const DELETE = route(path, { auth: "admin", status: 204, params: ItemSupplierParams }, async ({ auth, params }) => {
  await unlinkItemSupplier(auth.tenant, params.id, params.supplierId);
  return noContent();
});

export const OPTIONS = preflight;
