import { reply } from "../../../lib/http/reply.js";
import { route, preflight } from "../../../lib/http/route.js";
import { TenantIdParams, TenantOut } from "../../../lib/tenants/schemas.js";
import { restoreTenant } from "../../../lib/tenants/service.js";

// A deleted tenant serves no route, so its owner restores it as a signed-in person (no X-Tenant).
export const POST = route("/api/tenants/[id]/restore", { auth: "user", output: TenantOut, errors: ["conflict"], params: TenantIdParams }, async ({ auth, params }) => {
  const tenant = await restoreTenant(auth, params.id);
  return reply(tenant, { version: tenant.version });
});

export const OPTIONS = preflight;
