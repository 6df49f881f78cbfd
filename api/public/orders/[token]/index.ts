import { reply } from "../../../../lib/http/reply.js";
import { route, preflight } from "../../../../lib/http/route.js";
import { PublicOrderOut, TrackingParams } from "../../../../lib/conversations/schemas.js";
import { publicOrder } from "../../../../lib/tracking/service.js";

// No auth: the link's token is the credential. Rate limited per IP (the public policy).
export const GET = route("/api/public/orders/[token]", { auth: "public", params: TrackingParams, output: PublicOrderOut, errors: ["gone"] }, async ({ params }) =>
  reply(await publicOrder(params.token), { headers: { "Cache-Control": "no-store" } }),
);

export const OPTIONS = preflight;
