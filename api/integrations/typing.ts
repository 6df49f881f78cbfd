import { route, preflight } from "../../lib/http/route.js";
import { InboundTyping, TypingOut } from "../../lib/conversations/schemas.js";
import { customerTyping } from "../../lib/conversations/service.js";

// A connector reporting that the customer is typing: shown in their open thread on the channel.
export const POST = route("/api/integrations/typing", { auth: "staff", body: InboundTyping, output: TypingOut }, ({ auth, body }) => customerTyping(auth, body));

export const OPTIONS = preflight;
