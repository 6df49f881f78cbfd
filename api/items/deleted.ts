import { route, preflight } from "../../lib/http/route.js";
import { DeletedItemListQuery, ItemPageOut } from "../../lib/items/schemas.js";
import { listDeletedItems } from "../../lib/items/service.js";

export const GET = route("/api/items/deleted", { auth: "staff", output: ItemPageOut, query: DeletedItemListQuery, cache: { ttl: 86400, tags: ["items"] } }, ({ auth, query }) => listDeletedItems(auth.tenant, query));

export const OPTIONS = preflight;
