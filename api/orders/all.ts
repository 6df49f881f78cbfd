import { route, preflight } from "../../lib/http/route.js";
import { streamedList } from "../../lib/http/stream.js";
import { allOrders } from "../../lib/orders/service.js";
import { AllOrdersOut } from "../../lib/orders/schemas.js";

// Streamed, page by page (lib/http/stream.ts), so it is not in the server-side response cache: a
// cached entry would be the whole body in memory and in Redis.
export const GET = route("/api/orders/all", { auth: "staff", output: AllOrdersOut }, async ({ auth, requestId }) =>
  streamedList(await allOrders(auth.tenant), { requestId, path: "/api/orders/all" }),
);

export const OPTIONS = preflight;
