import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Received {
  headers: Record<string, string>;
  body: string;
  path: string;
}

export interface Reply {
  status: number;
  body?: string;
  headers?: Record<string, string>;
}

/** A local webhook receiver on 127.0.0.1 whose answers a test programs per request. */
export interface Receiver {
  url: string;
  received: Received[];
  /** Decides each answer (default 200). */
  respond: (r: Received, index: number) => Reply | Promise<Reply>;
  close(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const state = { received: [] as Received[], respond: ((): Reply => ({ status: 200, body: "ok" })) as Receiver["respond"] };
  const server: Server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const received: Received = {
      headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])),
      body: Buffer.concat(chunks).toString("utf8"),
      path: req.url ?? "/",
    };
    const index = state.received.push(received) - 1;
    const reply = await receiver.respond(received, index);
    res.writeHead(reply.status, reply.headers ?? {});
    res.end(reply.body ?? "");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const receiver: Receiver = {
    url: `http://127.0.0.1:${port}/hook`,
    received: state.received,
    respond: state.respond,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
  return receiver;
}
