// A local stand-in for Upstash's REST API on top of a real Redis, so the production @upstash/redis
// and @upstash/ratelimit code runs in tests. Protocol, as the client sends and reads it:
// POST / with ["CMD", ...args] -> {result}; POST /pipeline and /multi-exec with [[...], ...] ->
// [{result} | {error}]; Authorization: Bearer <token>; with `Upstash-Encoding: base64` every string
// in a result is base64 (recursively in arrays). @upstash/ratelimit's scripts start with
// `#!lua flags=allow-key-locking`, which open-source Redis rejects: the bridge strips that line and
// maps the client's SHA of the original script to the SHA Redis knows for the stripped one.
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { createClient } from "redis";

type Fault = "none" | "error" | "hang";

export interface UpstashBridge {
  url: string;
  token: string;
  /** HTTP requests served (each one Redis round trip for the client). */
  readonly requests: number;
  /** Makes the bridge answer 500s or never answer, as a failing Upstash would. */
  fault(mode: Fault): void;
  close(): Promise<void>;
}

const SHEBANG = /^#!lua[^\n]*\n/;
const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");

export async function startUpstashBridge(redisUrl: string): Promise<UpstashBridge> {
  const redis = createClient({ url: redisUrl });
  redis.on("error", () => {});
  await redis.connect();
  const token = `bridge-${crypto.randomUUID()}`;
  const scriptShas = new Map<string, string>();
  const state = { requests: 0, fault: "none" as Fault };
  const hanging = new Set<() => void>();

  function prepare(command: unknown[]): string[] {
    const args = command.map((a) => (typeof a === "string" ? a : JSON.stringify(a)));
    const name = args[0]!.toUpperCase();
    const script = name === "EVAL" || name === "EVAL_RO" ? 1 : name === "SCRIPT" && args[1]?.toUpperCase() === "LOAD" ? 2 : -1;
    if (script > 0 && SHEBANG.test(args[script]!)) {
      const stripped = args[script]!.replace(SHEBANG, "");
      scriptShas.set(sha1(args[script]!), sha1(stripped));
      args[script] = stripped;
    }
    if ((name === "EVALSHA" || name === "EVALSHA_RO") && scriptShas.has(args[1]!)) args[1] = scriptShas.get(args[1]!)!;
    return args;
  }

  async function run(command: unknown[]): Promise<{ result?: unknown; error?: string }> {
    try {
      return { result: await redis.sendCommand(prepare(command)) };
    } catch (error) {
      return { error: (error as Error).message };
    }
  }

  const handler = async (request: Request): Promise<Response> => {
    state.requests += 1;
    if (state.fault === "hang") return new Promise((resolve) => hanging.add(() => resolve(new Response(null, { status: 503 }))));
    if (state.fault === "error") return Response.json({ error: "ERR service unavailable" }, { status: 500 });
    if (request.headers.get("authorization") !== `Bearer ${token}`) return Response.json({ error: "Unauthorized" }, { status: 401 });
    const base64 = request.headers.get("upstash-encoding")?.toLowerCase() === "base64";
    const encode = (reply: { result?: unknown; error?: string }) => (base64 && "result" in reply ? { result: toBase64(reply.result) } : reply);
    const body = (await request.json()) as unknown[];
    const path = new URL(request.url).pathname;
    if (path === "/pipeline") return Response.json(await Promise.all((body as unknown[][]).map(async (c) => encode(await run(c)))));
    if (path === "/multi-exec") {
      const multi = redis.multi();
      for (const c of body as unknown[][]) multi.addCommand(prepare(c));
      try {
        return Response.json(((await multi.exec()) as unknown[]).map((result) => encode({ result })));
      } catch (error) {
        return Response.json({ error: (error as Error).message }, { status: 400 });
      }
    }
    const reply = await run(body);
    return Response.json(encode(reply), { status: reply.error ? 400 : 200 });
  };

  const server: Server = createServer(getRequestListener(handler));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    get requests() {
      return state.requests;
    },
    fault(mode) {
      state.fault = mode;
      if (mode !== "hang") for (const release of hanging) release();
      if (mode !== "hang") hanging.clear();
    },
    async close() {
      for (const release of hanging) release();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await redis.quit().catch(() => {});
    },
  };
}

function toBase64(value: unknown): unknown {
  if (typeof value === "string") return value === "OK" ? value : Buffer.from(value, "utf8").toString("base64");
  if (Buffer.isBuffer(value)) return value.toString("base64");
  if (Array.isArray(value)) return value.map(toBase64);
  return value;
}
