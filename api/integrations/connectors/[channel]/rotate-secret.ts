import { reply } from "../../../../lib/http/reply.js";
import { route, preflight } from "../../../../lib/http/route.js";
import { ConnectorParams, ConnectorSecretOut } from "../../../../lib/connectors/schemas.js";
import { rotateSecret } from "../../../../lib/connectors/service.js";

// The new secret is shown here once; the old one keeps signing beside it for 24 h.
export const POST = route("/api/integrations/connectors/[channel]/rotate-secret", { auth: "admin", params: ConnectorParams, output: ConnectorSecretOut }, async ({ auth, params }) => {
  const connector = await rotateSecret(auth, params.channel);
  return reply(connector, { version: connector.version });
});

export const OPTIONS = preflight;
