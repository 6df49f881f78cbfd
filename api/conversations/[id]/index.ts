import { IdParams } from "../../../lib/http/inputs.js";
import { expectedVersion } from "../../../lib/http/preconditions.js";
import { reply } from "../../../lib/http/reply.js";
import { route, preflight } from "../../../lib/http/route.js";
import { ConversationOut, ConversationUpdate } from "../../../lib/conversations/schemas.js";
import { getConversation, updateConversation } from "../../../lib/conversations/service.js";

const path = "/api/conversations/[id]";

export const GET = route(path, { auth: "staff", params: IdParams, output: ConversationOut }, async ({ auth, params }) => {
  const conversation = await getConversation(auth, params.id);
  return reply(conversation, { version: conversation.version });
});

export const PATCH = route(path, { auth: "staff", errors: ["conflict", "invalid_transition", "precondition_failed", "precondition_required"], params: IdParams, body: ConversationUpdate, output: ConversationOut }, async ({ auth, params, body, request }) => {
  const { version, ...changes } = body;
  const conversation = await updateConversation(auth, params.id, changes, expectedVersion(request, version));
  return reply(conversation, { version: conversation.version });
});

export const OPTIONS = preflight;
