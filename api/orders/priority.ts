import { route, preflight } from "../../lib/http/route.js";
import { priorityOrders } from "../../lib/orders/service.js";
import { PriorityOrdersOut } from "../../lib/orders/schemas.js";

export const GET = route("/api/orders/priority", { auth: "staff", output: PriorityOrdersOut, cache: { ttl: 300, tags: ["orders"] } }, ({ auth }) => priorityOrders(auth.tenant));

export const OPTIONS = preflight;
