import { created } from "../../lib/http/reply.js";
import { route, preflight } from "../../lib/http/route.js";
import { StockTakeCreate, StockTakeOut } from "../../lib/inventory/schemas.js";
import { startStockTake } from "../../lib/inventory/stock-take-service.js";

export const POST = route("/api/stock-takes", { auth: "admin", status: 201, body: StockTakeCreate, output: StockTakeOut, maxBodyBytes: 200_000 }, async ({ auth, body }) => {
  const take = await startStockTake(auth, body);
  return created(take, `/api/stock-takes/${take.id}`);
});

export const OPTIONS = preflight;
