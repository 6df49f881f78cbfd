import { IdParams } from "../../../lib/http/inputs.js";
import { expectedVersion } from "../../../lib/http/preconditions.js";
import { reply } from "../../../lib/http/reply.js";
import { route, preflight } from "../../../lib/http/route.js";
import { restoreItem } from "../../../lib/items/service.js";
import { ItemOut } from "../../../lib/items/schemas.js";

export const POST = route("/api/items/[id]/restore", { auth: "admin", output: ItemOut, errors: ["conflict", "precondition_failed"], params: IdParams }, async ({ auth, params, request }) => {
  const item = await restoreItem(auth, params.id, expectedVersion(request));
  return reply(item, { version: item.version });
});

export const OPTIONS = preflight;
