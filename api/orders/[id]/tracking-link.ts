import { IdParams } from "../../../lib/http/inputs.js";
import { reply } from "../../../lib/http/reply.js";
import { route, preflight } from "../../../lib/http/route.js";
import { TrackingLinkOut } from "../../../lib/conversations/schemas.js";
import { issueLink } from "../../../lib/tracking/service.js";

// The token is in this answer only (the database keeps its hash); a new link revokes the previous one.
export const POST = route("/api/orders/[id]/tracking-link", { auth: "staff", status: 201, params: IdParams, output: TrackingLinkOut }, async ({ auth, params }) =>
  reply(await issueLink(auth, params.id), { status: 201, headers: { "Cache-Control": "no-store" } }),
);

export const OPTIONS = preflight;
