import { IdParams } from "../../../lib/http/inputs.js";
import { route, preflight } from "../../../lib/http/route.js";
import { TypingOut } from "../../../lib/conversations/schemas.js";
import { staffTyping } from "../../../lib/conversations/service.js";

// Ephemeral: Redis only (no database write); shown on the event streams as `typing` for ~5 s.
export const POST = route("/api/conversations/[id]/typing", { auth: "staff", params: IdParams, output: TypingOut }, ({ auth, params }) => staffTyping(auth, params.id));

export const OPTIONS = preflight;
