import { IdParams } from "../../../lib/http/inputs.js";
import { route, preflight } from "../../../lib/http/route.js";
import { MarkRead, ReadOut } from "../../../lib/conversations/schemas.js";
import { markRead } from "../../../lib/conversations/service.js";

export const POST = route("/api/conversations/[id]/read", { auth: "staff", params: IdParams, body: MarkRead, output: ReadOut }, ({ auth, params, body }) => markRead(auth, params.id, body));

export const OPTIONS = preflight;
