import { route, preflight } from "../../lib/http/route.js";
import { orderBoard } from "../../lib/orders/service.js";
import { BoardOut } from "../../lib/orders/schemas.js";

// The live order board's starting point: open orders by status and the event cursor to stream from.
// Not cached: a stale board with a fresh cursor would miss changes.
export const GET = route("/api/orders/board", { auth: "staff", output: BoardOut }, ({ auth }) => orderBoard(auth.tenant));

export const OPTIONS = preflight;
