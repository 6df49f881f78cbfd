import { IdParams } from "../../lib/http/inputs.js";
import { expectedVersion } from "../../lib/http/preconditions.js";
import { reply } from "../../lib/http/reply.js";
import { route, preflight } from "../../lib/http/route.js";
import { SupplierOut, SupplierUpdate } from "../../lib/inventory/schemas.js";
import { getSupplier, writeSupplier } from "../../lib/inventory/service.js";

const path = "/api/suppliers/[id]";

export const GET = route(path, { auth: "staff", params: IdParams, output: SupplierOut, cache: { ttl: 86400, tags: ["suppliers"] } }, async ({ auth, params }) => {
  const supplier = await getSupplier(auth.tenant, params.id);
  return reply(supplier, { version: supplier.version });
});

export const PUT = route(path, { auth: "admin", params: IdParams, body: SupplierUpdate, output: SupplierOut, errors: ["precondition_failed"] }, async ({ auth, params, body, request }) => {
  const { version, ...changes } = body;
  const supplier = await writeSupplier(auth.tenant, params.id, changes, expectedVersion(request, version));
  return reply(supplier, { version: supplier.version });
});

/** Soft delete: the supplier disappears from lists and links; purchase orders keep naming it. */
export const DELETE = route(path, { auth: "admin", params: IdParams, output: SupplierOut, errors: ["precondition_failed"] }, async ({ auth, params, request }) => {
  const supplier = await writeSupplier(auth.tenant, params.id, "remove", expectedVersion(request));
  return reply(supplier, { version: supplier.version });
});

export const OPTIONS = preflight;
