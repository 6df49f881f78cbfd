import type { Redis } from "@upstash/redis";
import { config } from "./config.js";
import { upstashTransport } from "./redis-transport.js";
import { takeMetricCommands } from "../metrics/recorder.js";

// One Upstash client per warm instance, on globalThis. Without UPSTASH_REDIS_REST_URL/_TOKEN (or
// the Vercel integration's KV_REST_API_URL/_TOKEN) there is no client and the cache and the limiter
// use their in-process implementations (dev, `npm test`). @upstash/redis is imported only when
// configured, so the in-process path pays nothing at cold start.
export interface RedisHandle {
  redis: Redis;
  /** Namespace for every key we write; tests use one per run. */
  prefix: string;
}

export interface RedisSettings {
  url: string;
  token: string;
  timeoutMs?: number;
  prefix?: string;
}

type Slot = { __tallyRedis?: Promise<RedisHandle | undefined>; __tallyRedisGeneration?: number };
const slot = globalThis as typeof globalThis & Slot;

export function redisSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): RedisSettings | undefined {
  const url = env.UPSTASH_REDIS_REST_URL || env.KV_REST_API_URL;
  const token = env.UPSTASH_REDIS_REST_TOKEN || env.KV_REST_API_TOKEN;
  return url && token ? { url, token } : undefined;
}

export async function createRedis(settings: RedisSettings): Promise<RedisHandle> {
  const { Redis } = await import("@upstash/redis");
  const prefix = settings.prefix ?? config.redisKeyPrefix();
  const transport = upstashTransport({
    url: settings.url,
    token: settings.token,
    timeoutMs: settings.timeoutMs ?? config.redisTimeoutMs(),
    // Request metrics ride in whatever pipeline this instance sends next: no trip of their own.
    passengers: () => takeMetricCommands(prefix),
  });
  return { redis: new Redis(transport), prefix };
}

export function getRedis(): Promise<RedisHandle | undefined> {
  if (!slot.__tallyRedis) {
    const settings = redisSettingsFromEnv();
    slot.__tallyRedis = settings ? createRedis(settings) : Promise.resolve(undefined);
  }
  return slot.__tallyRedis;
}

/** Tests and the bench swap the client (or drop to the in-process implementations with `undefined`). */
export function installRedis(handle: RedisHandle | undefined): void {
  slot.__tallyRedis = Promise.resolve(handle);
  slot.__tallyRedisGeneration = (slot.__tallyRedisGeneration ?? 0) + 1;
}

/** Changes whenever installRedis runs, so memoised limiters and stores know to rebuild. */
export const redisGeneration = () => slot.__tallyRedisGeneration ?? 0;
