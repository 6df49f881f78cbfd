import { route, preflight } from "../../lib/http/route.js";
import { catalog } from "../../lib/events/catalog.js";
import { EventCatalogOut } from "../../lib/events/schemas.js";

// The event catalog: every type with the JSON Schema of its data (static; any member may read it).
export const GET = route("/api/events/catalog", { auth: "staff", output: EventCatalogOut }, () => catalog());

export const OPTIONS = preflight;
