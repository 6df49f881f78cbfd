import { expectedVersion } from "../../../lib/http/preconditions.js";
import { noContent, reply } from "../../../lib/http/reply.js";
import { route, preflight } from "../../../lib/http/route.js";
import { WebhookOut, WebhookParams, WebhookUpdate } from "../../../lib/webhooks/schemas.js";
import { deleteWebhook, getWebhook, updateWebhook } from "../../../lib/webhooks/service.js";

const path = "/api/webhooks/[id]";

export const GET = route(path, { auth: "admin", params: WebhookParams, output: WebhookOut }, async ({ auth, params }) => {
  const webhook = await getWebhook(auth, params.id);
  return reply(webhook, { version: webhook.version });
});

export const PATCH = route(path, { auth: "admin", params: WebhookParams, body: WebhookUpdate, output: WebhookOut, errors: ["precondition_failed"] }, async ({ auth, params, body, request }) => {
  const { version, ...changes } = body;
  const webhook = await updateWebhook(auth, params.id, changes, expectedVersion(request, version));
  return reply(webhook, { version: webhook.version });
});

export const DELETE = route(path, { auth: "admin", params: WebhookParams, status: 204, errors: ["precondition_failed"] }, async ({ auth, params, request }) => {
  await deleteWebhook(auth, params.id, expectedVersion(request));
  return noContent();
});

export const OPTIONS = preflight;
