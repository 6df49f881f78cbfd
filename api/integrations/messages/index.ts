import { reply } from "../../../lib/http/reply.js";
import { route, preflight } from "../../../lib/http/route.js";
import { InboundMessage, InboundOut } from "../../../lib/conversations/schemas.js";
import { receiveInbound } from "../../../lib/conversations/service.js";

// A channel connector delivering a customer's message (normally with a staff API key). Idempotent by
// (channel, externalId): a redelivery answers 200 with the first delivery's message.
export const POST = route("/api/integrations/messages", { auth: "staff", status: [200, 201], body: InboundMessage, output: InboundOut, maxBodyBytes: 64_000 }, async ({ auth, body }) => {
  const { message, conversationId, customerId, created } = await receiveInbound(auth, body);
  return reply({ message, conversationId, customerId, created }, { status: created ? 201 : 200 });
});

export const OPTIONS = preflight;
