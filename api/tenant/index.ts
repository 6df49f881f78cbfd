import { expectedVersion } from "../../lib/http/preconditions.js";
import { reply } from "../../lib/http/reply.js";
import { route, preflight } from "../../lib/http/route.js";
import { TenantDeletedOut, TenantOut, TenantUpdate } from "../../lib/tenants/schemas.js";
import { deleteTenant, getTenant, updateTenant } from "../../lib/tenants/service.js";

const path = "/api/tenant";

export const GET = route(path, { auth: "staff", output: TenantOut }, async ({ auth }) => {
  const tenant = await getTenant(auth);
  return reply(tenant, { version: tenant.version });
});

export const PATCH = route(path, { auth: "admin", output: TenantOut, errors: ["conflict", "precondition_failed"], body: TenantUpdate }, async ({ auth, body, request }) => {
  const tenant = await updateTenant(auth, body, expectedVersion(request, body.version));
  return reply(tenant, { version: tenant.version });
});

export const DELETE = route(path, { auth: "owner", output: TenantDeletedOut, errors: ["precondition_failed"] }, async ({ auth, request }) => deleteTenant(auth, expectedVersion(request)));

export const OPTIONS = preflight;
