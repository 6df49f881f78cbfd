import { IdParams } from "../../../../lib/http/inputs.js";
import { route, preflight } from "../../../../lib/http/route.js";
import { ItemSupplierListOut } from "../../../../lib/inventory/schemas.js";
import { listItemSuppliers } from "../../../../lib/inventory/service.js";

export const GET = route("/api/items/[id]/suppliers", { auth: "staff", params: IdParams, output: ItemSupplierListOut, cache: { ttl: 86400, tags: ["items", "suppliers"] } }, ({ auth, params }) =>
  listItemSuppliers(auth.tenant, params.id),
);

export const OPTIONS = preflight;
