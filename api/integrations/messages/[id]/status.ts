import { IdParams } from "../../../../lib/http/inputs.js";
import { route, preflight } from "../../../../lib/http/route.js";
import { StatusOut, StatusReport } from "../../../../lib/conversations/schemas.js";
import { reportStatus } from "../../../../lib/conversations/service.js";

// A connector's delivery report: forward moves only; a stale or repeated report is 200, applied: false.
export const POST = route("/api/integrations/messages/[id]/status", { auth: "staff", errors: ["conflict", "invalid_transition"], params: IdParams, body: StatusReport, output: StatusOut }, ({ auth, params, body }) =>
  reportStatus(auth, params.id, body),
);

export const OPTIONS = preflight;
