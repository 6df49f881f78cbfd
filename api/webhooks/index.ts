import { created } from "../../lib/http/reply.js";
import { route, preflight } from "../../lib/http/route.js";
import { WebhookCreate, WebhookCreatedOut, WebhookListOut } from "../../lib/webhooks/schemas.js";
import { createWebhook, listWebhooks } from "../../lib/webhooks/service.js";

const path = "/api/webhooks";

export const GET = route(path, { auth: "admin", output: WebhookListOut }, ({ auth }) => listWebhooks(auth));

export const POST = route(path, { auth: "admin", body: WebhookCreate, output: WebhookCreatedOut, status: 201 }, async ({ auth, body }) => {
  const webhook = await createWebhook(auth, body);
  return created(webhook, `/api/webhooks/${webhook.id}`, webhook.version);
});

export const OPTIONS = preflight;
