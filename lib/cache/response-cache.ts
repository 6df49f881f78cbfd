import { createHash } from "node:crypto";
import { config } from "../platform/config.js";
import { log } from "../platform/log.js";
import { getRedis, redisGeneration } from "../platform/redis.js";
import { kick } from "../delivery/kick.js";
import { waitUntil } from "../platform/wait-until.js";
import { memoryStore, type CacheStore, type EntryKeys, type Lookup } from "./store.js";
import { errorFields } from "../platform/log-error.js";
import { readPrimaryAfterWrite } from "../../db/replicas.js";

export interface CachePolicy {
  /** Seconds an entry lives, at most (entries are never served past CACHE_MAX_STALE_S either). */
  ttl: number;
  /** Domain tags whose writes invalidate the entry (see invalidate()). */
  tags: string[];
}

/** A response as the cache keeps it. */
export interface Rendered {
  status: number;
  headers: Record<string, string>;
  /** JSON text. */
  body?: string;
}

export type CacheState = "hit" | "miss" | "bypass";

const LOCK_MS = 3_000;
// How a caller that finds another instance filling the key waits: a couple of short polls, then
// it reads Postgres itself rather than keep the user waiting.
const POLL_DELAYS_MS = [40, 80];

type FlightResult = { stamp: string; rendered: Rendered } | { stamp: string; error: unknown };
interface Flight {
  done: Promise<FlightResult | undefined>;
  settle(result: FlightResult | undefined): void;
}

export interface CacheClock {
  /** Milliseconds since the epoch (tests pass a fake clock). */
  now(): number;
  /** How long after the lookup that built it an entry may be served (CACHE_MAX_STALE_S). */
  maxStaleMs(): number;
}

const systemClock: CacheClock = { now: () => Date.now(), maxStaleMs: () => config.cacheMaxStaleSeconds() * 1000 };

/**
 * One instance's response cache: the store (shared with other instances through Redis) plus the
 * in-flight computations of this instance, so concurrent misses for one key share one query.
 *
 * Staleness bound: a write bumps the tenant's tag versions, which stops older entries at once. If
 * the bump cannot reach Redis (an outage, or a partition of the writing instance), it is retried
 * and re-sent with that instance's next lookup — but that instance may never run again. So every
 * entry also carries the time of the lookup whose miss built it (before its database read), and no
 * instance serves it more than maxStaleMs() later: whatever happened to the bump, a read reflects
 * every write older than CACHE_MAX_STALE_S (default 60 s).
 */
export function createResponseCache(storeFor: () => Promise<CacheStore>, clock: CacheClock = systemClock) {
  const flights = new Map<string, Flight>();
  // Version bumps that have not reached the store (Redis was down when the write happened). They
  // ride along with this instance's next lookup for the tenant, ahead of it in the same pipeline,
  // so entries from before the write cannot come back once Redis does.
  const unsynced = new Map<string, Set<string>>();

  function syncVersions(store: CacheStore, tenantId: string): Promise<void> | undefined {
    const tags = unsynced.get(tenantId);
    if (!tags?.size) return undefined;
    const sending = [...tags];
    return store.bump(keysFor(store, tenantId, "").versions, sending, clock.now()).then(() => {
      for (const tag of sending) tags.delete(tag);
      if (tags.size === 0) unsynced.delete(tenantId);
    });
  }

  function keysFor(store: CacheStore, tenantId: string, identity: string): EntryKeys {
    // The {tenant} hash tag keeps a tenant's keys in one cluster slot, as the lookup script needs.
    const base = `${store.prefix}:{${tenantId}}`;
    const digest = createHash("sha256").update(identity).digest("base64url").slice(0, 32);
    return { versions: `${base}:tags`, entry: `${base}:c:${digest}`, lock: `${base}:c:${digest}:lock` };
  }

  /**
   * Serves `compute()` through the cache. `gate` is the caller's rate-limit verdict, already in
   * flight: awaiting it together with the lookup puts both in the same Redis round trip, and a
   * rejected gate means the database is never touched.
   */
  async function serve(tenantId: string, identity: string, policy: CachePolicy, gate: Promise<unknown>, compute: () => Promise<Rendered>): Promise<{ rendered: Rendered; state: CacheState }> {
    const store = await storeFor();
    const keys = keysFor(store, tenantId, identity);
    const flightKey = `${tenantId}\u0000${keys.entry}`;
    // The first caller for a key in this instance leads; later ones follow its computation. Taking
    // the role before the lookup (not after) keeps it deterministic: the leader's lookup is also the
    // first to reach Redis, so it is the one that gets the fill lock.
    const leading = flights.get(flightKey);
    const flight = leading ? undefined : newFlight();
    if (flight) flights.set(flightKey, flight);
    const release = (result?: FlightResult) => {
      if (flight && flights.get(flightKey) === flight) flights.delete(flightKey);
      flight?.settle(result);
    };

    void syncVersions(store, tenantId)?.catch(() => {});
    // The entry a miss builds is born now, before its database read: its age bounds its staleness.
    const born = clock.now();
    const maxStaleMs = clock.maxStaleMs();
    const lookup = store.lookup(keys, [...policy.tags].sort(), LOCK_MS, born - maxStaleMs).catch((error: unknown) => {
      log("warn", "cache unavailable, reading through", errorFields(error));
      return undefined;
    });
    let found: Lookup | undefined;
    try {
      [, found] = await Promise.all([gate, lookup]);
    } catch (error) {
      // Refused by the rate limiter: hand back a lock we may have taken and let followers go on.
      void lookup.then((f) => f?.state === "lock" && waitUntil(store.release(keys), "cache lock release"));
      release();
      throw error;
    }
    const stamp = found?.stamp ?? "";
    // A miss soon after a write to these tags reads the primary: what it computes is stored under
    // the new stamp, and a replica may not have replayed that write yet.
    if (found && found.state !== "hit") readPrimaryAfterWrite(found.writtenAt, born);
    if (found?.state === "hit") {
      const rendered = parse(found.payload);
      if (rendered) {
        release({ stamp, rendered });
        return { rendered, state: "hit" };
      }
    }
    const missState: CacheState = found ? "miss" : "bypass";

    if (leading) {
      const shared = await leading.done;
      // Only a computation that saw the same tag versions may answer for us; one that started
      // before a write we already know about would be a stale read.
      if (shared && shared.stamp === stamp) {
        if (found?.state === "lock") finishFill(store, keys, shared, born, ttlOf(policy, maxStaleMs));
        if ("error" in shared) throw shared.error;
        return { rendered: shared.rendered, state: missState };
      }
    }

    let result: FlightResult | undefined;
    try {
      if (found?.state === "wait") {
        const filled = await pollForFill(store, keys, stamp, born - maxStaleMs);
        if (filled) {
          result = { stamp, rendered: filled };
          return { rendered: filled, state: "hit" };
        }
      }
      try {
        result = { stamp, rendered: await compute() };
      } catch (error) {
        result = { stamp, error };
        throw error;
      }
      return { rendered: result.rendered, state: missState };
    } finally {
      release(result);
      if (found?.state === "lock") finishFill(store, keys, result ?? { stamp, error: undefined }, born, ttlOf(policy, maxStaleMs));
    }
  }

  async function pollForFill(store: CacheStore, keys: EntryKeys, stamp: string, minBorn: number): Promise<Rendered | undefined> {
    for (const delay of POLL_DELAYS_MS) {
      await new Promise((resolve) => setTimeout(resolve, delay));
      const payload = await store.peek(keys, stamp, minBorn).catch(() => undefined);
      const rendered = payload === undefined ? undefined : parse(payload);
      if (rendered) return rendered;
    }
    return undefined;
  }

  /** After the response: store a valid result and release the lock (one round trip), or just release. */
  function finishFill(store: CacheStore, keys: EntryKeys, result: FlightResult, born: number, ttl: number) {
    const storable = "rendered" in result && isCacheable(result.rendered);
    waitUntil(storable ? store.fill(keys, result.stamp, born, JSON.stringify(result.rendered), ttl) : store.release(keys), "cache fill");
  }

  /** Makes every cached response carrying one of `tags` for this tenant stale, in O(1). */
  async function invalidate(tenantId: string, tags: string[]): Promise<void> {
    const store = await storeFor();
    // Reads already running in this instance saw the old data; nobody may join them now.
    for (const key of flights.keys()) if (key.startsWith(`${tenantId}\u0000`)) flights.delete(key);
    const pending = unsynced.get(tenantId) ?? new Set<string>();
    for (const tag of tags) pending.add(tag);
    unsynced.set(tenantId, pending);
    await syncVersions(store, tenantId);
  }

  async function health(): Promise<{ status: "ok" | "degraded"; mode: "memory" | "redis" }> {
    const store = await storeFor();
    try {
      await store.ping();
      return { status: "ok", mode: store.mode };
    } catch {
      return { status: "degraded", mode: store.mode };
    }
  }

  /** A tag's current version for the tenant (lib/events/wake.ts polls the "events" tag). */
  async function tagVersion(tenantId: string, tag: string): Promise<number> {
    const store = await storeFor();
    return store.tagVersion(keysFor(store, tenantId, "").versions, tag);
  }

  return { serve, invalidate, health, tagVersion };
}

/** Redis keeps an entry no longer than it may be served (whole seconds, at least one). */
const ttlOf = (policy: CachePolicy, maxStaleMs: number) => Math.max(1, Math.min(policy.ttl, Math.ceil(maxStaleMs / 1000)));

function newFlight(): Flight {
  let settle!: Flight["settle"];
  const done = new Promise<FlightResult | undefined>((resolve) => (settle = resolve));
  return { done, settle };
}

/** A stored entry; its body was validated before it was stored, so only the envelope is checked. */
function parse(payload: string): Rendered | undefined {
  try {
    const rendered = JSON.parse(payload) as Rendered;
    return rendered.status >= 200 && rendered.status < 300 && typeof rendered.body === "string" ? rendered : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Only successful JSON bodies are cached, and a body that claims to be a page must be a whole one:
 * a bug or a half-built response must not be served for a day.
 */
export function isCacheable(rendered: Rendered): boolean {
  if (rendered.status < 200 || rendered.status >= 300 || rendered.body === undefined) return false;
  let body: unknown;
  try {
    body = JSON.parse(rendered.body);
  } catch {
    return false;
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) return false;
  const { items, pagination } = body as { items?: unknown; pagination?: Record<string, unknown> };
  if ("items" in body && !Array.isArray(items)) return false;
  if (!("pagination" in body)) return true;
  if (!Array.isArray(items) || typeof pagination !== "object" || pagination === null) return false;
  return ["page", "limit", "total", "totalPages"].every((k) => Number.isInteger(pagination[k]));
}

// The instance's cache, rebuilt only when the Redis client is swapped (tests, bench).
const slot = globalThis as typeof globalThis & { __tallyCache?: { generation: number; cache: ReturnType<typeof createResponseCache> } };

async function currentStore(): Promise<CacheStore> {
  const handle = await getRedis();
  if (!handle) return memoryStore();
  const { redisStore } = await import("./redis-store.js");
  return redisStore(handle);
}

export function responseCache(): ReturnType<typeof createResponseCache> {
  const generation = redisGeneration();
  if (slot.__tallyCache?.generation !== generation) {
    const store = currentStore();
    slot.__tallyCache = { generation, cache: createResponseCache(() => store) };
  }
  return slot.__tallyCache.cache;
}

/** The tag whose version the event streams watch (lib/events/wake.ts). */
export const EVENTS_TAG = "events";

/**
 * Called by every write path after its database write commits and before it answers, so the
 * caller's next read sees the change. A Redis failure does not fail the write (it is committed):
 * the bump is logged, retried in the background, and sent ahead of this instance's next lookup.
 */
export async function invalidate(tenantId: string, tags: string[]): Promise<void> {
  const cache = responseCache();
  // Every write that changes tenant data may have written events (lib/events): the same bump moves
  // the "events" marker the event streams watch, at no extra round trip.
  tags = [...tags, EVENTS_TAG];
  // ...and may have queued webhook deliveries: start them now, in the background.
  kick(tenantId);
  try {
    await cache.invalidate(tenantId, tags);
  } catch (error) {
    log("error", "cache invalidation failed", { tenantId, tags, ...errorFields(error) });
    waitUntil(new Promise((resolve) => setTimeout(resolve, 1000)).then(() => cache.invalidate(tenantId, [])), "cache invalidation retry");
  }
}

/** A tag's current version for the tenant: the event streams' wake-up marker (lib/events/wake.ts). */
export function tagVersion(tenantId: string, tag: string): Promise<number> {
  return responseCache().tagVersion(tenantId, tag);
}
