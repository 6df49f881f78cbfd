import { IdParams } from "../../../lib/http/inputs.js";
import { expectedVersion } from "../../../lib/http/preconditions.js";
import { noContent } from "../../../lib/http/reply.js";
import { route, preflight } from "../../../lib/http/route.js";
import { purgeItem } from "../../../lib/items/service.js";

export const DELETE = route("/api/items/[id]/permanent", { auth: "admin", status: 204, errors: ["conflict", "precondition_failed"], params: IdParams }, async ({ auth, params, request }) => {
  await purgeItem(auth, params.id, expectedVersion(request));
  return noContent();
});

export const OPTIONS = preflight;
