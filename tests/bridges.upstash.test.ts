import { createHash } from "node:crypto";
import { Ratelimit } from "@upstash/ratelimit";
import { Redis } from "@upstash/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runPrefix } from "./support/cache-targets.js";
import { startUpstashBridge, UPSTASH_LIMITS, type UpstashBridge } from "./support/upstash-bridge.js";

// The Upstash REST bridge must hold the production client to Upstash's rules, not just Redis's:
// allow-key-locking scripts touch only declared keys, size limits, per-command transaction results.
describe.skipIf(!process.env.TEST_REDIS_URL)("Upstash fidelity of the REST bridge", () => {
  let bridge: UpstashBridge;
  let redis: Redis;
  const key = (name: string) => `${runPrefix}:upstash-fidelity:${name}:${crypto.randomUUID().slice(0, 8)}`;
  beforeAll(async () => {
    bridge = await startUpstashBridge(process.env.TEST_REDIS_URL!);
    redis = new Redis({ url: bridge.url, token: bridge.token, retry: { retries: 0 }, automaticDeserialization: false });
  });
  afterAll(async () => {
    await bridge?.close();
  });

  const FLAGGED = "#!lua flags=allow-key-locking\nredis.call('SET', KEYS[1], 'declared')\nredis.call('SET', ARGV[1], 'undeclared')\nreturn 1";
  const unflagged = (script: string) => script.replace(/^#!lua[^\n]*\n/, "");

  it("runs @upstash/ratelimit's own (allow-key-locking) scripts under the undeclared-key rule", async () => {
    const before = bridge.guardedScripts;
    for (const limiter of [Ratelimit.slidingWindow(3, "60 s"), Ratelimit.fixedWindow(3, "60 s"), Ratelimit.tokenBucket(3, "60 s", 3)]) {
      const ratelimit = new Ratelimit({ redis, limiter, prefix: key("rl"), analytics: false, timeout: 0 });
      const id = "user-1";
      const results = [];
      for (let i = 0; i < 4; i++) results.push((await ratelimit.limit(id)).success);
      expect(results).toEqual([true, true, true, false]);
    }
    // The scripts really carried the flag, so the guard ran around every call they made.
    expect(bridge.guardedScripts).toBeGreaterThan(before);
  });

  it("rejects a flagged script that touches a key it did not declare, by EVAL, EVALSHA and pcall", async () => {
    const [declared, undeclared] = [key("declared"), key("undeclared")];
    await expect(redis.eval(FLAGGED, [declared], [undeclared])).rejects.toThrow(/undeclared key/);
    expect(await redis.get(undeclared)).toBeNull();
    const sha = await redis.scriptLoad(FLAGGED);
    expect(sha).toBe(createHash("sha1").update(FLAGGED).digest("hex")); // the client's SHA, mapped by the bridge
    await expect(redis.evalsha(sha, [declared], [undeclared])).rejects.toThrow(/undeclared key/);
    const viaPcall = FLAGGED.replace("redis.call('SET', ARGV[1]", "redis.pcall('SET', ARGV[1]");
    await expect(redis.eval(viaPcall, [declared], [undeclared])).rejects.toThrow(/undeclared key/);
    expect(await redis.get(undeclared)).toBeNull();
    // Declared, it runs; without the flag Upstash takes the global lock and allows any key.
    expect(await redis.eval(FLAGGED, [declared, undeclared], [undeclared])).toBe(1);
    const other = key("other");
    expect(await redis.eval(unflagged(FLAGGED), [declared], [other])).toBe(1);
    expect(await redis.get(other)).toBe("undeclared");
  });

  it("answers /multi-exec with one result or error per command, as Upstash does", async () => {
    const k = key("multi");
    const post = (body: unknown) => fetch(`${bridge.url}/multi-exec`, { method: "POST", headers: { authorization: `Bearer ${bridge.token}` }, body: JSON.stringify(body) });
    const ran = await post([["SET", k, "v"], ["HGET", k, "f"], ["GET", k]]);
    expect(ran.status).toBe(200);
    const replies = (await ran.json()) as { result?: unknown; error?: string }[];
    expect(replies).toHaveLength(3);
    expect(replies[0]).toEqual({ result: "OK" });
    expect(replies[1]!.error).toMatch(/^WRONGTYPE/);
    expect(replies[2]).toEqual({ result: "v" });
    // The client sees the same, per command.
    const viaClient = await redis.multi().set(k, "w").hget(k, "f").get(k).exec({ keepErrors: true });
    expect(viaClient.map((r) => r.error === undefined)).toEqual([true, false, true]);
    expect(viaClient[2]!.result).toBe("w");
    // A command refused before EXEC (unknown) aborts the whole transaction: nothing runs.
    const aborted = await post([["SET", k, "x"], ["NOSUCHCOMMAND", k]]);
    expect(aborted.status).toBe(400);
    expect(((await aborted.json()) as { error: string }).error).toMatch(/EXECABORT|unknown command/i);
    expect(await redis.get(k)).toBe("w");
  });

  it("enforces Upstash's size limits: requests (10 MB) and keys (32 KB)", async () => {
    const long = `${runPrefix}:${"k".repeat(UPSTASH_LIMITS.maxKeyBytes)}`;
    await expect(redis.set(long, "v")).rejects.toThrow(`ERR max key size exceeded. Limit: ${UPSTASH_LIMITS.maxKeyBytes} bytes, Actual: ${long.length} bytes`);
    // A long value is fine; a long key inside a pipeline fails only its own command.
    const k = key("big-value");
    expect(await redis.set(k, "v".repeat(UPSTASH_LIMITS.maxKeyBytes * 2))).toBe("OK");
    const piped = await redis.pipeline().get(long).strlen(k).exec({ keepErrors: true });
    expect(piped[0]!.error).toMatch(/max key size exceeded/);
    expect(piped[1]!.result).toBe(UPSTASH_LIMITS.maxKeyBytes * 2);
    bridge.limits.maxRequestBytes = 50_000;
    try {
      await expect(redis.set(key("too-big"), "x".repeat(60_000))).rejects.toThrow(/max request size exceeded/);
      expect(await redis.set(key("fits"), "x".repeat(40_000))).toBe("OK");
    } finally {
      bridge.limits.maxRequestBytes = UPSTASH_LIMITS.maxRequestBytes;
    }
  });
});
