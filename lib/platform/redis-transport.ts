import { currentRoundTripScope, startRoundTrip, type RoundTripScope } from "../../db/round-trips.js";

// The Upstash REST transport behind @upstash/redis (passed to it as its `Requester`). Two reasons to
// own it rather than use the client's built-in HTTP client:
// - One round trip per request. The client's auto-pipelining keeps reads and writes in separate
//   pipelines and only waits two microtasks, so @upstash/ratelimit's EVALSHA (issued after a few
//   awaits) and our cache lookup would go out as two HTTP calls. Here every command issued in the
//   same event-loop turn joins one POST /pipeline.
// - A short deadline and no retries. The stock client retries 5 times with backoff; serving from
//   Postgres after a few hundred ms beats waiting seconds for a Redis that is down.
// Each trip is counted (Server-Timing `redis`, tests) and charged to every request riding in it.

type Command = unknown[];
type Reply = { result?: unknown; error?: string };
interface UpstashRequest {
  path?: string[];
  body?: unknown;
}

export interface TransportOptions {
  url: string;
  token: string;
  /** Deadline for one HTTP round trip to Redis. */
  timeoutMs: number;
  /**
   * Commands that ride along whenever a pipeline goes out anyway (the metrics counters): sent first
   * in the same HTTP call, their replies dropped, `settle` told whether the call got through.
   */
  passengers?: () => { commands: Command[]; settle(ok: boolean): void } | undefined;
}

interface Waiter {
  commands: Command[];
  pipeline: boolean;
  scope: RoundTripScope | undefined;
  resolve(value: Reply | Reply[]): void;
  reject(error: unknown): void;
}

export class RedisUnavailableError extends Error {
  override name = "RedisUnavailableError";
}

export function upstashTransport(options: TransportOptions) {
  const base = options.url.replace(/\/$/, "");
  let queue: Waiter[] = [];
  // Upstash's read-your-writes token: replicas answer only once they have seen our last write.
  let syncToken = "";

  async function post(path: string, body: Command[], scopes: Iterable<RoundTripScope>): Promise<Reply[]> {
    const done = startRoundTrip("redis", scopes);
    try {
      const response = await fetch(`${base}/${path}`, {
        method: "POST",
        headers: {
          authorization: `Bearer ${options.token}`,
          "content-type": "application/json",
          "upstash-encoding": "base64",
          ...(syncToken ? { "upstash-sync-token": syncToken } : {}),
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs),
      }).catch((error: unknown) => {
        throw new RedisUnavailableError(`Redis request failed: ${(error as Error).name === "TimeoutError" ? "timed out" : (error as Error).message}`);
      });
      const text = await response.text();
      if (!response.ok) throw new RedisUnavailableError(`Redis answered HTTP ${response.status}: ${text.slice(0, 200)}`);
      syncToken = response.headers.get("upstash-sync-token") ?? syncToken;
      const replies = JSON.parse(text) as Reply[];
      if (!Array.isArray(replies) || replies.length !== body.length) throw new RedisUnavailableError("Redis sent a malformed pipeline reply.");
      return replies.map((r) => ({ result: decode(r.result), error: r.error }));
    } finally {
      done();
    }
  }

  function flush() {
    const batch = queue;
    queue = [];
    // Passengers go first, so a read in the same pipeline (the metrics scrape's HGETALL) sees them.
    const passengers = options.passengers?.();
    const commands = [...(passengers?.commands ?? []), ...batch.flatMap((w) => w.commands)];
    const scopes = batch.map((w) => w.scope).filter((s): s is RoundTripScope => s !== undefined);
    post("pipeline", commands, scopes).then(
      (replies) => {
        passengers?.settle(true);
        let at = passengers?.commands.length ?? 0;
        for (const waiter of batch) {
          const mine = replies.slice(at, (at += waiter.commands.length));
          waiter.resolve(waiter.pipeline ? mine : mine[0]!);
        }
      },
      (error) => {
        passengers?.settle(false);
        batch.forEach((w) => w.reject(error));
      },
    );
  }

  return {
    async request(req: UpstashRequest): Promise<any> {
      const kind = req.path?.[0];
      // A transaction must stay alone in its HTTP call.
      if (kind === "multi-exec") return post("multi-exec", req.body as Command[], [currentRoundTripScope()].filter((s) => s !== undefined));
      const pipeline = kind === "pipeline";
      return new Promise((resolve, reject) => {
        if (queue.length === 0) setImmediate(flush);
        queue.push({ commands: pipeline ? (req.body as Command[]) : [req.body as Command], pipeline, scope: currentRoundTripScope(), resolve, reject });
      });
    },
  };
}

// Upstash-Encoding: base64 makes the server base64-encode every string in a reply, so binary values
// survive JSON; integers and nulls are sent as they are.
function decode(value: unknown): unknown {
  if (typeof value === "string") return value === "OK" ? value : Buffer.from(value, "base64").toString("utf8");
  if (Array.isArray(value)) return value.map(decode);
  return value;
}
