import { noContent, reply } from "../../../../lib/http/reply.js";
import { route, preflight } from "../../../../lib/http/route.js";
import { ConnectorOut, ConnectorParams, ConnectorPut, ConnectorPutOut } from "../../../../lib/connectors/schemas.js";
import { deleteConnector, getConnector, putConnector } from "../../../../lib/connectors/service.js";

const path = "/api/integrations/connectors/[channel]";

export const GET = route(path, { auth: "admin", params: ConnectorParams, output: ConnectorOut }, async ({ auth, params }) => {
  const connector = await getConnector(auth, params.channel);
  return reply(connector, { version: connector.version });
});

// 201 with the signing secret (shown this once) for a new connector; 200 when it replaced one.
export const PUT = route(path, { auth: "admin", status: [200, 201], params: ConnectorParams, body: ConnectorPut, output: ConnectorPutOut }, async ({ auth, params, body }) => {
  const { connector, created } = await putConnector(auth, params.channel, body);
  return reply(connector, { status: created ? 201 : 200, version: connector.version, headers: created ? { Location: `/api/integrations/connectors/${params.channel}` } : {} });
});

// Messages still waiting for delivery through it become failed ("connector removed").
export const DELETE = route(path, { auth: "admin", status: 204, params: ConnectorParams }, async ({ auth, params }) => {
  await deleteConnector(auth, params.channel);
  return noContent();
});

export const OPTIONS = preflight;
