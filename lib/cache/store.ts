// Where cached responses live: Upstash Redis in production, this process's memory without it.
// An entry is stored as `${stamp}|${payload}`, where the stamp is the tenant's version of each tag
// the route declared ("v3.0."). Writes bump a version (HINCRBY), so every older entry stops matching
// at once — O(1) invalidation, no SCAN — and is overwritten by the next fill or expires by TTL.
export interface EntryKeys {
  /** Hash of the tenant's tag versions. */
  versions: string;
  entry: string;
  /** Held (SET NX PX) by the one instance filling the entry. */
  lock: string;
}

export type Lookup =
  | { state: "hit"; stamp: string; payload: string }
  /** Miss, and this caller now holds the fill lock. */
  | { state: "lock"; stamp: string }
  /** Miss, and another caller is filling it. */
  | { state: "wait"; stamp: string };

export interface CacheStore {
  readonly mode: "memory" | "redis";
  readonly prefix: string;
  /** Tag versions, the entry and (on a miss) the fill lock, in one command. */
  lookup(keys: EntryKeys, tags: string[], lockMs: number): Promise<Lookup>;
  /** The entry's payload if it is stored under `stamp`. */
  peek(keys: EntryKeys, stamp: string): Promise<string | undefined>;
  /** Stores the entry and releases the lock together. */
  fill(keys: EntryKeys, stamp: string, payload: string, ttlSeconds: number): Promise<void>;
  release(keys: EntryKeys): Promise<void>;
  bump(versionsKey: string, tags: string[]): Promise<void>;
  ping(): Promise<void>;
}

export const stampOf = (versions: (number | string | null | undefined)[]) => `v${versions.map((v) => `${v ?? 0}.`).join("")}`;

const MAX_ENTRIES = 5_000;

/** The in-process store: same contract, for dev and tests (and two of them can share one map). */
export function memoryStore(prefix = "tally"): CacheStore {
  const values = new Map<string, { value: string; expires: number }>();
  const versions = new Map<string, Map<string, number>>();
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
  const peekNow = (keys: EntryKeys, stamp: string) => {
    const entry = live(keys.entry);
    return entry?.startsWith(`${stamp}|`) ? entry.slice(stamp.length + 1) : undefined;
  };
  return {
    mode: "memory",
    prefix,
    async lookup(keys, tags, lockMs) {
      const stamp = stampFor(keys, tags);
      const payload = peekNow(keys, stamp);
      if (payload !== undefined) return { state: "hit", stamp, payload };
      if (live(keys.lock) !== undefined) return { state: "wait", stamp };
      put(keys.lock, "1", lockMs);
      return { state: "lock", stamp };
    },
    peek: async (keys, stamp) => peekNow(keys, stamp),
    async fill(keys, stamp, payload, ttlSeconds) {
      put(keys.entry, `${stamp}|${payload}`, ttlSeconds * 1000);
      values.delete(keys.lock);
    },
    release: async (keys) => void values.delete(keys.lock),
    async bump(versionsKey, tags) {
      const tagVersions = versions.get(versionsKey) ?? new Map<string, number>();
      for (const tag of tags) tagVersions.set(tag, (tagVersions.get(tag) ?? 0) + 1);
      versions.set(versionsKey, tagVersions);
    },
    ping: async () => {},
  };
}
