import { IdParams } from "../../../lib/http/inputs.js";
import { route, preflight } from "../../../lib/http/route.js";
import { StockTakeOut } from "../../../lib/inventory/schemas.js";
import { getStockTake } from "../../../lib/inventory/stock-take-service.js";

// The variance report: each line's expected (snapshot), counted, variance and its value at cost.
export const GET = route("/api/stock-takes/[id]", { auth: "staff", params: IdParams, output: StockTakeOut }, ({ auth, params }) => getStockTake(auth.tenant, params.id));

export const OPTIONS = preflight;
