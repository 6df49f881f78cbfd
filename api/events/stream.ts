import { route, preflight } from "../../lib/http/route.js";
import { EventStreamQuery } from "../../lib/events/schemas.js";
import { openStream } from "../../lib/events/stream.js";
import { redeemStreamToken } from "../../lib/events/stream-token.js";

// Server-Sent Events (lib/events/stream.ts). EventSource sends no headers: ?token= takes a
// single-use stream token instead of the Authorization header. maxDuration: vercel.json.
export const GET = route("/api/events/stream", { auth: "staff", formats: ["text/event-stream"], query: EventStreamQuery, credential: redeemStreamToken }, ({ auth, query, request }) =>
  openStream(auth.tenant, query, request),
);

export const OPTIONS = preflight;
