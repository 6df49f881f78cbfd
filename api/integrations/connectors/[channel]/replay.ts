import { reply } from "../../../../lib/http/reply.js";
import { route, preflight } from "../../../../lib/http/route.js";
import { ConnectorParams, ConnectorReplay, ConnectorReplayOut } from "../../../../lib/connectors/schemas.js";
import { replay } from "../../../../lib/connectors/service.js";

// After an outage: the dead deliveries of a window go out again; their failed messages are queued again.
export const POST = route("/api/integrations/connectors/[channel]/replay", { auth: "admin", params: ConnectorParams, body: ConnectorReplay, output: ConnectorReplayOut, status: 202 }, async ({ auth, params, body }) =>
  reply(await replay(auth, params.channel, body), { status: 202 }),
);

export const OPTIONS = preflight;
