// Where cached responses live: Upstash Redis in production, this process's memory without it.
// An entry is stored as `${stamp}|${born}|${payload}`, where the stamp is the tenant's version of
// each tag the route declared ("v3.0.") and `born` the time (ms, app clock) of the lookup whose miss
// built it. Writes bump a version (HINCRBY), so every older entry stops matching at once — O(1)
// invalidation, no SCAN. A bump can be lost (Redis unreachable from the writer, which may then
// freeze), so lookups also refuse entries born before `minBorn`: that bounds staleness by time.
// A bump also records when it happened (field `@<tag>`, app clock), and a lookup answers the newest
// of its tags' times: a miss that follows a write closely fills from the primary, not a replica that
// may not have replayed the write yet (README "Read replicas").
export interface EntryKeys {
  /** Hash of the tenant's tag versions. */
  versions: string;
  entry: string;
  /** Held (SET NX PX) by the one instance filling the entry. */
  lock: string;
}

export type Lookup = (
  | { state: "hit"; stamp: string; payload: string }
  /** Miss, and this caller now holds the fill lock. */
  | { state: "lock"; stamp: string }
  /** Miss, and another caller is filling it. */
  | { state: "wait"; stamp: string }
) & {
  /** When the newest bump of the looked-up tags happened (ms, the writer's clock); 0 if never or unknown. */
  writtenAt: number;
};

export interface CacheStore {
  readonly mode: "memory" | "redis";
  readonly prefix: string;
  /** Tag versions, the entry (if stored under them and born at or after minBorn) and, on a miss, the fill lock, in one command. */
  lookup(keys: EntryKeys, tags: string[], lockMs: number, minBorn: number): Promise<Lookup>;
  /** The entry's payload if it is stored under `stamp` and born at or after minBorn. */
  peek(keys: EntryKeys, stamp: string, minBorn: number): Promise<string | undefined>;
  /** Stores the entry and releases the lock together. */
  fill(keys: EntryKeys, stamp: string, born: number, payload: string, ttlSeconds: number): Promise<void>;
  release(keys: EntryKeys): Promise<void>;
  /** Moves each tag's version and records `at` as its last write time, in one round trip. */
  bump(versionsKey: string, tags: string[], at: number): Promise<void>;
  /** One tag's version (0 if never bumped): the event streams' wake-up marker. */
  tagVersion(versionsKey: string, tag: string): Promise<number>;
  ping(): Promise<void>;
}

export const stampOf = (versions: (number | string | null | undefined)[]) => `v${versions.map((v) => `${v ?? 0}.`).join("")}`;

/** The field holding a tag's last write time, beside its version in the same hash. */
export const writtenField = (tag: string) => `@${tag}`;

export const encodeEntry = (stamp: string, born: number, payload: string) => `${stamp}|${Math.floor(born)}|${payload}`;

/** The payload of a stored entry if it carries `stamp` and was born at or after minBorn. */
export function decodeEntry(entry: unknown, stamp: string, minBorn: number): string | undefined {
  if (typeof entry !== "string" || !entry.startsWith(`${stamp}|`)) return undefined;
  const bar = entry.indexOf("|", stamp.length + 1);
  const born = Number(entry.slice(stamp.length + 1, bar));
  return bar > 0 && born >= minBorn ? entry.slice(bar + 1) : undefined;
}

const MAX_ENTRIES = 5_000;

/** The in-process store: same contract, for dev and tests (and two of them can share one map). */
export function memoryStore(prefix = "tally"): CacheStore {
  const values = new Map<string, { value: string; expires: number }>();
  const versions = new Map<string, Map<string, number>>();
  const writes = new Map<string, Map<string, number>>();
  const live = (key: string) => {
    const hit = values.get(key);
    if (hit && hit.expires <= Date.now()) values.delete(key);
    return hit && hit.expires > Date.now() ? hit.value : undefined;
  };
  const put = (key: string, value: string, ms: number) => {
    if (values.size >= MAX_ENTRIES && !values.has(key)) values.delete(values.keys().next().value!);
    values.set(key, { value, expires: Date.now() + ms });
  };
  const stampFor = (keys: EntryKeys, tags: string[]) => stampOf(tags.map((t) => versions.get(keys.versions)?.get(t)));
  const peekNow = (keys: EntryKeys, stamp: string, minBorn: number) => decodeEntry(live(keys.entry), stamp, minBorn);
  const writtenAt = (keys: EntryKeys, tags: string[]) => Math.max(0, ...tags.map((t) => writes.get(keys.versions)?.get(t) ?? 0));
  return {
    mode: "memory",
    prefix,
    async lookup(keys, tags, lockMs, minBorn) {
      const stamp = stampFor(keys, tags);
      const at = writtenAt(keys, tags);
      const payload = peekNow(keys, stamp, minBorn);
      if (payload !== undefined) return { state: "hit", stamp, payload, writtenAt: at };
      if (live(keys.lock) !== undefined) return { state: "wait", stamp, writtenAt: at };
      put(keys.lock, "1", lockMs);
      return { state: "lock", stamp, writtenAt: at };
    },
    peek: async (keys, stamp, minBorn) => peekNow(keys, stamp, minBorn),
    async fill(keys, stamp, born, payload, ttlSeconds) {
      put(keys.entry, encodeEntry(stamp, born, payload), ttlSeconds * 1000);
      values.delete(keys.lock);
    },
    release: async (keys) => void values.delete(keys.lock),
    async bump(versionsKey, tags, at) {
      const tagVersions = versions.get(versionsKey) ?? new Map<string, number>();
      const tagWrites = writes.get(versionsKey) ?? new Map<string, number>();
      for (const tag of tags) {
        tagVersions.set(tag, (tagVersions.get(tag) ?? 0) + 1);
        tagWrites.set(tag, Math.max(tagWrites.get(tag) ?? 0, at));
      }
      versions.set(versionsKey, tagVersions);
      writes.set(versionsKey, tagWrites);
    },
    tagVersion: async (versionsKey, tag) => versions.get(versionsKey)?.get(tag) ?? 0,
    ping: async () => {},
  };
}
