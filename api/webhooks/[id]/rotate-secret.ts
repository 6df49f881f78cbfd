import { reply } from "../../../lib/http/reply.js";
import { route, preflight } from "../../../lib/http/route.js";
import { WebhookParams, WebhookSecretOut } from "../../../lib/webhooks/schemas.js";
import { rotateSecret } from "../../../lib/webhooks/service.js";

// The new secret is shown here once; the old one keeps signing beside it for 24 h.
export const POST = route("/api/webhooks/[id]/rotate-secret", { auth: "admin", params: WebhookParams, output: WebhookSecretOut }, async ({ auth, params }) => {
  const webhook = await rotateSecret(auth, params.id);
  return reply(webhook, { version: webhook.version });
});

export const OPTIONS = preflight;
