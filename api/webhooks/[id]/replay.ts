import { reply } from "../../../lib/http/reply.js";
import { route, preflight } from "../../../lib/http/route.js";
import { ReplayOut, WebhookParams, WebhookReplay } from "../../../lib/webhooks/schemas.js";
import { replay } from "../../../lib/webhooks/service.js";

export const POST = route("/api/webhooks/[id]/replay", { auth: "admin", params: WebhookParams, body: WebhookReplay, output: ReplayOut, status: 202 }, async ({ auth, params, body }) =>
  reply(await replay(auth, params.id, body), { status: 202 }),
);

export const OPTIONS = preflight;
