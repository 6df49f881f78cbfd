import { reply } from "../../lib/http/reply.js";
import { route, preflight } from "../../lib/http/route.js";
import { TenantCreate, TenantOut } from "../../lib/tenants/schemas.js";
import { createTenant } from "../../lib/tenants/service.js";

export const POST = route("/api/tenants", { auth: "user", output: TenantOut, status: 201, errors: ["slug_taken", "conflict"], body: TenantCreate, idempotent: true }, async ({ auth, body, idempotency }) => {
  const { tenant, replayed } = await createTenant(auth, body, idempotency);
  return reply(tenant, { status: 201, version: tenant.version, headers: { Location: "/api/tenant", ...(replayed ? { "Idempotent-Replayed": "true" } : {}) } });
});

export const OPTIONS = preflight;
