import { afterAll, beforeAll } from "vitest";
import { createRedis, installRedis } from "../../lib/platform/redis.js";
import { startUpstashBridge, type UpstashBridge } from "./upstash-bridge.js";

/**
 * Where the cache and rate-limit suites run: the in-process implementations by default; with
 * TEST_REDIS_URL also the production @upstash/redis + @upstash/ratelimit code through the local
 * Upstash REST bridge onto that real Redis.
 */
export type CacheTarget = "memory" | "upstash→redis";

export function cacheTargets(): CacheTarget[] {
  return process.env.TEST_REDIS_URL ? ["memory", "upstash→redis"] : ["memory"];
}

/** Keys of one run never meet another run's, even on a shared Redis. */
export const runPrefix = `tally-test-${process.pid}-${crypto.randomUUID().slice(0, 8)}`;

/** Installs the target as the app's Redis (or none) for the enclosing describe block. */
export function withCacheTarget(name: CacheTarget) {
  const state: { bridge?: UpstashBridge } = {};
  beforeAll(async () => {
    if (name === "memory") return installRedis(undefined);
    state.bridge = await startUpstashBridge(process.env.TEST_REDIS_URL!);
    installRedis(await createRedis({ url: state.bridge.url, token: state.bridge.token, prefix: `${runPrefix}-${crypto.randomUUID().slice(0, 8)}`, timeoutMs: 2000 }));
  });
  afterAll(async () => {
    installRedis(undefined);
    await state.bridge?.close();
  });
  return {
    get bridge() {
      return state.bridge;
    },
  };
}
