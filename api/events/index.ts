import { route, preflight } from "../../lib/http/route.js";
import { EventListQuery, EventPageOut } from "../../lib/events/schemas.js";
import { listEvents } from "../../lib/events/service.js";

// The audit trail (admin). Never cached: it grows with every write.
export const GET = route("/api/events", { auth: "admin", output: EventPageOut, query: EventListQuery }, ({ auth, query }) => listEvents(auth.tenant, query));

export const OPTIONS = preflight;
