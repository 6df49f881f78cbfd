import { IdParams } from "../../lib/http/inputs.js";
import { expectedVersion } from "../../lib/http/preconditions.js";
import { reply } from "../../lib/http/reply.js";
import { route, preflight } from "../../lib/http/route.js";
import { CustomerOut, CustomerUpdate } from "../../lib/customers/schemas.js";
import { getCustomer, updateCustomer } from "../../lib/customers/service.js";

const path = "/api/customers/[id]";

export const GET = route(path, { auth: "staff", output: CustomerOut, params: IdParams, cache: { ttl: 86400, tags: ["customers"] } }, async ({ auth, params }) => {
  const customer = await getCustomer(auth.tenant, params.id);
  return reply(customer, { version: customer.version });
});

export const PUT = route(path, { auth: "staff", output: CustomerOut, errors: ["precondition_failed"], params: IdParams, body: CustomerUpdate }, async ({ auth, params, body, request }) => {
  const { version, ...changes } = body;
  const customer = await updateCustomer(auth.tenant, params.id, changes, expectedVersion(request, version));
  return reply(customer, { version: customer.version });
});

export const OPTIONS = preflight;
