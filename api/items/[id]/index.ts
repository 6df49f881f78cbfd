import { IdParams } from "../../../lib/http/inputs.js";
import { expectedVersion } from "../../../lib/http/preconditions.js";
import { reply } from "../../../lib/http/reply.js";
import { route, preflight } from "../../../lib/http/route.js";
import { ItemDetailOut, ItemOut, ItemUpdate } from "../../../lib/items/schemas.js";
import { deleteItem, getItem, updateItem } from "../../../lib/items/service.js";

const path = "/api/items/[id]";

export const GET = route(path, { auth: "staff", output: ItemDetailOut, params: IdParams, cache: { ttl: 86400, tags: ["items"] } }, async ({ auth, params }) => {
  const item = await getItem(auth.tenant, params.id);
  return reply(item, { version: item.version });
});

export const PUT = route(path, { auth: "admin", output: ItemOut, errors: ["conflict", "insufficient_stock", "precondition_failed", "precondition_required"], params: IdParams, body: ItemUpdate }, async ({ auth, params, body, request }) => {
  const { version, ...changes } = body;
  const item = await updateItem(auth, params.id, changes, expectedVersion(request, version));
  return reply(item, { version: item.version });
});

export const DELETE = route(path, { auth: "admin", output: ItemOut, errors: ["precondition_failed"], params: IdParams }, async ({ auth, params, request }) => {
  const item = await deleteItem(auth, params.id, expectedVersion(request));
  return reply(item, { version: item.version });
});

export const OPTIONS = preflight;
