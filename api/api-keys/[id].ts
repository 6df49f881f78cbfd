import { noContent } from "../../lib/http/reply.js";
import { route, preflight } from "../../lib/http/route.js";
import { ApiKeyParams } from "../../lib/api-keys/schemas.js";
import { revokeApiKey } from "../../lib/api-keys/service.js";

export const DELETE = route("/api/api-keys/[id]", { auth: "admin", status: 204, params: ApiKeyParams }, async ({ auth, params }) => {
  await revokeApiKey(auth, params.id);
  return noContent();
});

export const OPTIONS = preflight;
