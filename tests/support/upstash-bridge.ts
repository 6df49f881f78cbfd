// A local stand-in for Upstash's REST API on top of a real Redis, so the production @upstash/redis
// and @upstash/ratelimit code runs in tests. Protocol, as the client sends and reads it:
// POST / with ["CMD", ...args] -> {result}; POST /pipeline and /multi-exec with [[...], ...] ->
// [{result} | {error}]; Authorization: Bearer <token>; with `Upstash-Encoding: base64` every string
// in a result is base64 (recursively in arrays).
//
// Upstash rules that open-source Redis does not have, enforced here so CI fails where production would
// (upstash.com/docs/redis: commands/scripting/eval, features/key-locking, troubleshooting/*):
// - `#!lua flags=allow-key-locking` (every @upstash/ratelimit >= 2.1 script starts with it): Redis 7
//   rejects the flag, so the bridge strips it — and instead checks the flag's rule itself: such a
//   script may touch only the keys passed in KEYS. Its redis.call/pcall go through a guard that asks
//   Redis (COMMAND GETKEYS) which keys each call touches and raises on any undeclared one. The client's
//   SHA of the original script is mapped to the SHA Redis knows for the rewritten one.
// - a request is at most 10 MB ("ERR max request size exceeded"), a key at most 32 KB ("ERR max key
//   size exceeded. Limit: X bytes, Actual: Z bytes").
// - /multi-exec answers one {result} or {error} per command (EXEC runs them all; Redis does not roll
//   back), not one error for the whole transaction.
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import { getRequestListener } from "@hono/node-server";
import { createClient, MultiErrorReply } from "redis";

type Fault = "none" | "error" | "hang";

export interface UpstashLimits {
  maxRequestBytes: number;
  maxKeyBytes: number;
}

export const UPSTASH_LIMITS: UpstashLimits = { maxRequestBytes: 10_000_000, maxKeyBytes: 32 * 1024 };

export interface UpstashBridge {
  url: string;
  token: string;
  /** HTTP requests served (each one Redis round trip for the client). */
  readonly requests: number;
  /** Scripts seen with `allow-key-locking` (and so run with the undeclared-key guard). */
  readonly guardedScripts: number;
  /** Makes the bridge answer 500s or never answer, as a failing Upstash would. */
  fault(mode: Fault): void;
  /** Upstash's size limits; tests lower them to reach them cheaply. */
  readonly limits: UpstashLimits;
  close(): Promise<void>;
}

const SHEBANG = /^#!lua[^\n]*\n/;
const KEY_LOCKING = /^#!lua[^\n]*\bflags=[^\n]*\ballow-key-locking\b/;
const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");

// Prepended to a flagged script. Locals only: Redis 7 makes the `redis` table read-only.
const KEY_GUARD = `local __tally_declared = {}
for _, k in ipairs(KEYS) do __tally_declared[k] = true end
local function __tally_check(...)
  local keys = redis.pcall('COMMAND', 'GETKEYS', ...)
  if type(keys) ~= 'table' or keys.err then return end
  for _, k in ipairs(keys) do
    if not __tally_declared[k] then
      error({ err = 'ERR allow-key-locking script accessed undeclared key ' .. k .. ' (pass every key in KEYS)' })
    end
  end
end
local function __tally_call(...) __tally_check(...) return redis.call(...) end
local function __tally_pcall(...) __tally_check(...) return redis.pcall(...) end
`;

/** The script Redis runs: flag line stripped; with allow-key-locking, every call guarded. */
function forRedis(script: string): string {
  if (!SHEBANG.test(script)) return script;
  const body = script.replace(SHEBANG, "");
  if (!KEY_LOCKING.test(script)) return body;
  return KEY_GUARD + body.replace(/\bredis\.call\s*\(/g, "__tally_call(").replace(/\bredis\.pcall\s*\(/g, "__tally_pcall(");
}

export async function startUpstashBridge(redisUrl: string): Promise<UpstashBridge> {
  const redis = createClient({ url: redisUrl });
  redis.on("error", () => {});
  await redis.connect();
  const token = `bridge-${crypto.randomUUID()}`;
  const scriptShas = new Map<string, string>();
  const state = { requests: 0, guarded: 0, fault: "none" as Fault };
  const limits: UpstashLimits = { ...UPSTASH_LIMITS };
  const hanging = new Set<() => void>();

  function prepare(command: unknown[]): string[] {
    const args = command.map((a) => (typeof a === "string" ? a : JSON.stringify(a)));
    const name = args[0]!.toUpperCase();
    const script = name === "EVAL" || name === "EVAL_RO" ? 1 : name === "SCRIPT" && args[1]?.toUpperCase() === "LOAD" ? 2 : -1;
    if (script > 0 && SHEBANG.test(args[script]!)) {
      const rewritten = forRedis(args[script]!);
      if (KEY_LOCKING.test(args[script]!)) state.guarded += 1;
      scriptShas.set(sha1(args[script]!), sha1(rewritten));
      args[script] = rewritten;
    }
    if ((name === "EVALSHA" || name === "EVALSHA_RO") && scriptShas.has(args[1]!)) args[1] = scriptShas.get(args[1]!)!;
    return args;
  }

  /** Upstash's 32 KB key limit. Only a command with an argument that long can break it, so only those ask Redis which arguments are keys. */
  async function keyTooLong(args: string[]): Promise<string | undefined> {
    if (!args.some((a) => Buffer.byteLength(a) > limits.maxKeyBytes)) return undefined;
    const keys = (await redis.sendCommand(["COMMAND", "GETKEYS", ...args]).catch(() => [])) as string[];
    const long = keys.find((k) => Buffer.byteLength(k) > limits.maxKeyBytes);
    return long === undefined ? undefined : `ERR max key size exceeded. Limit: ${limits.maxKeyBytes} bytes, Actual: ${Buffer.byteLength(long)} bytes`;
  }

  async function run(command: unknown[]): Promise<{ result?: unknown; error?: string }> {
    try {
      const args = prepare(command);
      const refused = await keyTooLong(args);
      if (refused) return { error: refused };
      const result = await redis.sendCommand(args);
      // SCRIPT LOAD answers the SHA of the script the client sent, as Upstash would, not of the rewrite.
      const loaded = args[0]!.toUpperCase() === "SCRIPT" && args[1]?.toUpperCase() === "LOAD" ? String(command[2]) : undefined;
      return { result: loaded !== undefined && SHEBANG.test(loaded) ? sha1(loaded) : result };
    } catch (error) {
      return { error: (error as Error).message };
    }
  }

  /** MULTI/EXEC: one reply per command, errors in place (EXEC does not stop at a failing command). */
  async function transaction(commands: unknown[][]): Promise<{ status: number; replies: { result?: unknown; error?: string }[] }> {
    const prepared = commands.map(prepare);
    for (const args of prepared) {
      const refused = await keyTooLong(args);
      if (refused) return { status: 400, replies: [{ error: refused }] };
    }
    const multi = redis.multi();
    for (const args of prepared) multi.addCommand(args);
    try {
      return { status: 200, replies: ((await multi.exec()) as unknown[]).map((result) => ({ result })) };
    } catch (error) {
      // A command failed while running: the others ran; report each in its place.
      if (error instanceof MultiErrorReply) return { status: 200, replies: error.replies.map((r, i) => (error.errorIndexes.includes(i) ? { error: (r as Error).message } : { result: r })) };
      // Refused before running (unknown command, wrong arity: EXECABORT): nothing ran.
      return { status: 400, replies: [{ error: (error as Error).message }] };
    }
  }

  const handler = async (request: Request): Promise<Response> => {
    state.requests += 1;
    if (state.fault === "hang") return new Promise((resolve) => hanging.add(() => resolve(new Response(null, { status: 503 }))));
    if (state.fault === "error") return Response.json({ error: "ERR service unavailable" }, { status: 500 });
    if (request.headers.get("authorization") !== `Bearer ${token}`) return Response.json({ error: "Unauthorized" }, { status: 401 });
    const text = await readLimited(request, limits.maxRequestBytes);
    if (text === undefined) return Response.json({ error: "ERR max request size exceeded" }, { status: 400 });
    const base64 = request.headers.get("upstash-encoding")?.toLowerCase() === "base64";
    const encode = (reply: { result?: unknown; error?: string }) => (base64 && "result" in reply ? { result: toBase64(reply.result) } : reply);
    const body = JSON.parse(text) as unknown[];
    const path = new URL(request.url).pathname;
    if (path === "/pipeline") return Response.json(await Promise.all((body as unknown[][]).map(async (c) => encode(await run(c)))));
    if (path === "/multi-exec") {
      const { status, replies } = await transaction(body as unknown[][]);
      return status === 200 ? Response.json(replies.map(encode)) : Response.json(replies[0], { status });
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
    get guardedScripts() {
      return state.guarded;
    },
    limits,
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

/** The body as text, or undefined past `limit` bytes. */
async function readLimited(request: Request, limit: number): Promise<string | undefined> {
  if (Number(request.headers.get("content-length") ?? 0) > limit) return undefined;
  const text = await request.text();
  return Buffer.byteLength(text) > limit ? undefined : text;
}
