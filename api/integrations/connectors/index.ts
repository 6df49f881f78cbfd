import { route, preflight } from "../../../lib/http/route.js";
import { ConnectorListOut } from "../../../lib/connectors/schemas.js";
import { listConnectors } from "../../../lib/connectors/service.js";

// The tenant's chat connectors, one per channel (never their secrets).
export const GET = route("/api/integrations/connectors", { auth: "admin", output: ConnectorListOut }, ({ auth }) => listConnectors(auth));

export const OPTIONS = preflight;
