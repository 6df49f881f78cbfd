import { IdParams } from "../../../lib/http/inputs.js";
import { route, preflight } from "../../../lib/http/route.js";
import { MovementListQuery, MovementPageOut } from "../../../lib/stock/schemas.js";
import { listMovements } from "../../../lib/stock/service.js";

export const GET = route("/api/items/[id]/stock-movements", { auth: "staff", output: MovementPageOut, params: IdParams, query: MovementListQuery, cache: { ttl: 86400, tags: ["items"] } }, ({ auth, params, query }) =>
  listMovements(auth.tenant, params.id, query),
);

export const OPTIONS = preflight;
