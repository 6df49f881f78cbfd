import { route, preflight } from "../../lib/http/route.js";
import { created } from "../../lib/http/reply.js";
import { ItemCreate, ItemListQuery } from "../../lib/items/schemas.js";
import { createItem, listItems } from "../../lib/items/service.js";

const path = "/api/items";

export const GET = route(path, { auth: "staff", query: ItemListQuery, cache: { ttl: 86400, tags: ["items"] } }, ({ auth, query }) => listItems(auth.tenant, query));

export const POST = route(path, { auth: "admin", body: ItemCreate }, async ({ auth, body }) => {
  const item = await createItem(auth, body);
  return created(item, `/api/items/${item.id}`, item.version);
});

export const OPTIONS = preflight;
