import { route, preflight } from "../../lib/http/route.js";
import { created } from "../../lib/http/reply.js";
import { SupplierCreate, SupplierListQuery, SupplierOut, SupplierPageOut } from "../../lib/inventory/schemas.js";
import { createSupplier, listSuppliers } from "../../lib/inventory/service.js";

const path = "/api/suppliers";

export const GET = route(path, { auth: "staff", query: SupplierListQuery, output: SupplierPageOut, cache: { ttl: 86400, tags: ["suppliers"] } }, ({ auth, query }) => listSuppliers(auth.tenant, query));

export const POST = route(path, { auth: "admin", status: 201, body: SupplierCreate, output: SupplierOut }, async ({ auth, body }) => {
  const supplier = await createSupplier(auth.tenant, body);
  return created(supplier, `/api/suppliers/${supplier.id}`, supplier.version);
});

export const OPTIONS = preflight;
