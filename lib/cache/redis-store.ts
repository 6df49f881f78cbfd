import { createHash } from "node:crypto";
import type { RedisHandle } from "../platform/redis.js";
import { decodeEntry, encodeEntry, writtenField, type CacheStore } from "./store.js";

// One script does the whole lookup so it rides in the request's single Redis round trip next to
// the rate-limit check: read the tag versions, compare the entry's stamp, and on a miss try the
// fill lock. Every key it touches is passed in KEYS (all under the tenant's {hash tag}).
// ARGV: lock token, lock ms, minBorn (entries born earlier are a miss), tags. Answers the stamp, the
// newest write time of the tags (fields '@<tag>', see store.ts), the state and, on a hit, the entry.
const LOOKUP = `
local stamp = 'v'
local written = 0
for i = 4, #ARGV do
  stamp = stamp .. (redis.call('HGET', KEYS[1], ARGV[i]) or '0') .. '.'
  local at = tonumber(redis.call('HGET', KEYS[1], '@' .. ARGV[i]) or '0') or 0
  if at > written then written = at end
end
written = string.format('%d', written)
local entry = redis.call('GET', KEYS[2])
if entry and string.sub(entry, 1, #stamp + 1) == stamp .. '|' then
  local born = tonumber(string.match(entry, '^(%d+)|', #stamp + 2))
  if born and born >= tonumber(ARGV[3]) then return {stamp, written, 'hit', entry} end
end
if redis.call('SET', KEYS[3], ARGV[1], 'NX', 'PX', ARGV[2]) then return {stamp, written, 'lock'} end
return {stamp, written, 'wait'}
`;
const LOOKUP_SHA = createHash("sha1").update(LOOKUP).digest("hex");

export function redisStore({ redis, prefix }: RedisHandle): CacheStore {
  async function lookupScript(keys: string[], args: string[]): Promise<string[]> {
    try {
      return await redis.evalsha<string[], string[]>(LOOKUP_SHA, keys, args);
    } catch (error) {
      // First call after a script-cache flush: send the source once; Redis keeps it from then on.
      if (!String(error).includes("NOSCRIPT")) throw error;
      return redis.eval<string[], string[]>(LOOKUP, keys, args);
    }
  }
  return {
    mode: "redis",
    prefix,
    async lookup(keys, tags, lockMs, minBorn) {
      // The entry comes back whole: with its stamp in front it is never valid JSON, so the client's
      // automatic JSON deserialisation leaves it a string.
      const [stamp, written, state, entry] = await lookupScript([keys.versions, keys.entry, keys.lock], [crypto.randomUUID(), String(lockMs), String(Math.floor(minBorn)), ...tags]);
      // The client may have turned the digits into a number already.
      const writtenAt = Number(written) || 0;
      const payload = state === "hit" ? decodeEntry(String(entry), String(stamp), minBorn) : undefined;
      if (payload !== undefined) return { state: "hit", stamp: String(stamp), payload, writtenAt };
      return { state: state === "lock" ? "lock" : "wait", stamp: String(stamp), writtenAt };
    },
    async peek(keys, stamp, minBorn) {
      return decodeEntry(await redis.get<string>(keys.entry), stamp, minBorn);
    },
    async fill(keys, stamp, born, payload, ttlSeconds) {
      await Promise.all([redis.set(keys.entry, encodeEntry(stamp, born, payload), { ex: ttlSeconds }), redis.del(keys.lock)]);
    },
    release: async (keys) => void (await redis.del(keys.lock)),
    // Issued in one turn, so the transport sends them as one pipeline (one round trip). A write time
    // may go back by a concurrent writer's clock skew (HSET, not max): it only decides primary vs
    // replica for the next couple of seconds' fills.
    bump: async (versionsKey, tags, at) =>
      void (await Promise.all([...tags.map((tag) => redis.hincrby(versionsKey, tag, 1)), redis.hset(versionsKey, Object.fromEntries(tags.map((tag) => [writtenField(tag), Math.floor(at)])))])),
    tagVersion: async (versionsKey, tag) => Number((await redis.hget<number | string>(versionsKey, tag)) ?? 0),
    ping: async () => void (await redis.ping()),
  };
}
