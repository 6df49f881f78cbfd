import { created } from "../../lib/http/reply.js";
import { route, preflight } from "../../lib/http/route.js";
import { ApiKeyCreate, ApiKeyCreatedOut, ApiKeyListOut } from "../../lib/api-keys/schemas.js";
import { createApiKey, listApiKeys } from "../../lib/api-keys/service.js";

const path = "/api/api-keys";

export const GET = route(path, { auth: "admin", output: ApiKeyListOut }, ({ auth }) => listApiKeys(auth));

export const POST = route(path, { auth: "admin", output: ApiKeyCreatedOut, status: 201, body: ApiKeyCreate }, async ({ auth, body }) => {
  const key = await createApiKey(auth, body);
  return created(key, `/api/api-keys/${key.id}`);
});

export const OPTIONS = preflight;
