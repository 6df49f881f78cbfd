import { IdParams } from "../../../lib/http/inputs.js";
import { route, preflight } from "../../../lib/http/route.js";
import { StockTakeOut } from "../../../lib/inventory/schemas.js";
import { applyStockTake } from "../../../lib/inventory/stock-take-service.js";

export const POST = route("/api/stock-takes/[id]/apply", { auth: "admin", params: IdParams, output: StockTakeOut }, ({ auth, params }) => applyStockTake(auth, params.id));

export const OPTIONS = preflight;
