import { reply } from "../../../../lib/http/reply.js";
import { route, preflight } from "../../../../lib/http/route.js";
import { PublicMessage, PublicMessageOut, TrackingParams } from "../../../../lib/conversations/schemas.js";
import { publicReply, trackingLimitKey } from "../../../../lib/tracking/service.js";

// The customer's reply from the tracking page: limited per IP and per link (one Redis trip).
export const POST = route(
  "/api/public/orders/[token]/messages",
  { auth: "public", status: 201, params: TrackingParams, body: PublicMessage, output: PublicMessageOut, errors: ["gone"], maxBodyBytes: 32_000, limitAlsoBy: trackingLimitKey },
  async ({ params, body }) => reply(await publicReply(params.token, body.text), { status: 201, headers: { "Cache-Control": "no-store" } }),
);

export const OPTIONS = preflight;
