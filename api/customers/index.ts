import { created } from "../../lib/http/reply.js";
import { route, preflight } from "../../lib/http/route.js";
import { CustomerFields, CustomerListQuery, CustomerOut, CustomerPageOut } from "../../lib/customers/schemas.js";
import { createCustomer, listCustomers } from "../../lib/customers/service.js";

const path = "/api/customers";

export const GET = route(path, { auth: "staff", output: CustomerPageOut, query: CustomerListQuery, cache: { ttl: 86400, tags: ["customers"] } }, ({ auth, query }) => listCustomers(auth.tenant, query));

export const POST = route(path, { auth: "staff", output: CustomerOut, status: 201, body: CustomerFields }, async ({ auth, body }) => {
  const customer = await createCustomer(auth.tenant, body);
  return created(customer, `/api/customers/${customer.id}`, customer.version);
});

export const OPTIONS = preflight;
