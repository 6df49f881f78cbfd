import { route, preflight } from "../../lib/http/route.js";
import { priorityOrders } from "../../lib/orders/service.js";

export const GET = route("/api/orders/priority", { auth: "staff", cache: { ttl: 300, tags: ["orders"] } }, ({ auth }) => priorityOrders(auth.tenant));

export const OPTIONS = preflight;
