import { reply } from "../../lib/http/reply.js";
import { route, preflight } from "../../lib/http/route.js";
import { issueStreamToken } from "../../lib/events/stream-token.js";

// A single-use token for ?token= on GET /api/events/stream, valid 60 s (EventSource cannot send headers).
export const POST = route("/api/events/stream-token", { auth: "staff" }, async ({ auth }) => reply(await issueStreamToken(auth), { status: 201 }));

export const OPTIONS = preflight;
