import { reply } from "../../lib/http/reply.js";
import { route, preflight } from "../../lib/http/route.js";
import { ConversationCreate, ConversationListOut, ConversationListQuery, ConversationOut } from "../../lib/conversations/schemas.js";
import { listConversations, openConversation } from "../../lib/conversations/service.js";

const path = "/api/conversations";

// Not cached: unread counts are per member, and the response cache is per tenant.
export const GET = route(path, { auth: "staff", query: ConversationListQuery, output: ConversationListOut }, ({ auth, query }) => listConversations(auth, query));

// 201 with a new thread, 200 with the customer's open one on that channel.
export const POST = route(path, { auth: "staff", status: [200, 201], body: ConversationCreate, output: ConversationOut }, async ({ auth, body }) => {
  const { conversation, created } = await openConversation(auth, body);
  return reply(conversation, { status: created ? 201 : 200, version: conversation.version, headers: { Location: `/api/conversations/${conversation.id}` } });
});

export const OPTIONS = preflight;
