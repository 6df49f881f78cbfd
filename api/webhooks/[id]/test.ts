import { reply } from "../../../lib/http/reply.js";
import { route, preflight } from "../../../lib/http/route.js";
import { DeliveryOut, WebhookParams } from "../../../lib/webhooks/schemas.js";
import { sendTest } from "../../../lib/webhooks/service.js";

// 202: the test delivery is queued and sent right after the response (follow it in .../deliveries).
export const POST = route("/api/webhooks/[id]/test", { auth: "admin", params: WebhookParams, output: DeliveryOut, status: 202 }, async ({ auth, params }) =>
  reply(await sendTest(auth, params.id), { status: 202 }),
);

export const OPTIONS = preflight;
