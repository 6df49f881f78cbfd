import { route, preflight } from "../../lib/http/route.js";
import { created } from "../../lib/http/reply.js";
import { ItemCreate, ItemListQuery, ItemOut, ItemPageOut } from "../../lib/items/schemas.js";
import { createItem, listItems } from "../../lib/items/service.js";

const path = "/api/items";

export const GET = route(path, { auth: "staff", output: ItemPageOut, query: ItemListQuery, cache: { ttl: 86400, tags: ["items"] } }, ({ auth, query }) => listItems(auth.tenant, query));

export const POST = route(path, { auth: "admin", output: ItemOut, status: 201, errors: ["conflict"], body: ItemCreate }, async ({ auth, body }) => {
  const item = await createItem(auth, body);
  return created(item, `/api/items/${item.id}`, item.version);
});

export const OPTIONS = preflight;
