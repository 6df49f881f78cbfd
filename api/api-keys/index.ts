import { created } from "../../lib/http/reply.js";
import { route, preflight } from "../../lib/http/route.js";
import { ApiKeyCreate } from "../../lib/api-keys/schemas.js";
import { createApiKey, listApiKeys } from "../../lib/api-keys/service.js";

const path = "/api/api-keys";

export const GET = route(path, { auth: "admin" }, ({ auth }) => listApiKeys(auth));

export const POST = route(path, { auth: "admin", body: ApiKeyCreate }, async ({ auth, body }) => {
  const key = await createApiKey(auth, body);
  return created(key, `/api/api-keys/${key.id}`);
});

export const OPTIONS = preflight;
