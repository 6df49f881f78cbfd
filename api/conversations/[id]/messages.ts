import { IdParams } from "../../../lib/http/inputs.js";
import { reply } from "../../../lib/http/reply.js";
import { route, preflight } from "../../../lib/http/route.js";
import { MessageCreate, MessageListOut, MessageListQuery, MessageOut } from "../../../lib/conversations/schemas.js";
import { listMessages, postMessage } from "../../../lib/conversations/service.js";

const path = "/api/conversations/[id]/messages";

export const GET = route(path, { auth: "staff", params: IdParams, query: MessageListQuery, output: MessageListOut }, ({ auth, params, query }) => listMessages(auth, params.id, query));

export const POST = route(path, { auth: "staff", status: 201, params: IdParams, body: MessageCreate, output: MessageOut, maxBodyBytes: 64_000, idempotent: true }, async ({ auth, params, body, idempotency }) => {
  const { message, replayed } = await postMessage(auth, params.id, body, idempotency);
  return reply(message, { status: 201, headers: replayed ? { "Idempotent-Replayed": "true" } : {} });
});

export const OPTIONS = preflight;
