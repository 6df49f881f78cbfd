import { reply } from "../../lib/http/reply.js";
import { route, preflight } from "../../lib/http/route.js";
import { issueStreamToken } from "../../lib/events/stream-token.js";
import { StreamTokenOut } from "../../lib/events/schemas.js";

// A single-use token for ?token= on GET /api/events/stream, valid 60 s (EventSource cannot send headers).
export const POST = route("/api/events/stream-token", { auth: "staff", output: StreamTokenOut, status: 201 }, async ({ auth }) => reply(await issueStreamToken(auth), { status: 201 }));

export const OPTIONS = preflight;
