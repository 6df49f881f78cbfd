import { IdParams } from "../../../lib/http/inputs.js";
import { reply } from "../../../lib/http/reply.js";
import { route, preflight } from "../../../lib/http/route.js";
import { StockAdjustment, StockAdjustmentOut } from "../../../lib/stock/schemas.js";
import { adjustStock } from "../../../lib/stock/service.js";

const path = "/api/items/[id]/stock-adjustments";

export const POST = route(path, { auth: "admin", output: StockAdjustmentOut, status: 201, errors: ["insufficient_stock"], params: IdParams, body: StockAdjustment, idempotent: true }, async ({ auth, params, body, idempotency }) => {
  const { item, movement, replayed } = await adjustStock(auth, params.id, body, idempotency);
  return reply({ item, movement }, { status: 201, headers: replayed ? { "Idempotent-Replayed": "true" } : {} });
});

export const OPTIONS = preflight;
