import { EVENTS_TAG, tagVersion } from "../cache/response-cache.js";
import { getRedis } from "../platform/redis.js";
import { log } from "../platform/log.js";
import { errorFields } from "../platform/log-error.js";
import { currentTyping, TYPING_TAG, type TypingEntry } from "./typing.js";

// The streams' wake-up signal. Every write bumps the tenant's "events" tag version after it commits
// (lib/cache/response-cache.ts invalidate()). One watcher per tenant per instance polls that version
// — one Redis call per poll, shared by every stream of the tenant on this instance — and wakes the
// streams only when it moved; they then read Postgres. An idle stream costs no database query and
// at most one Redis call per second (see pollMs). Without Redis the version lives in this process (dev, tests)
// and polling it is free, so it is polled faster.

interface Watch {
  listeners: Set<() => void>;
  /** Streams that show typing indicators (typing.ts). */
  typingListeners: Set<(entries: TypingEntry[]) => void>;
  version?: number;
  typingVersion?: number;
  /** The last read of the marker failed: poll at the slowest period (each wake-up is a DB read per stream). */
  failing?: boolean;
  timer?: ReturnType<typeof setTimeout>;
}

const slot = globalThis as typeof globalThis & { __tallyEventWatches?: Map<string, Watch> };
const watches = (slot.__tallyEventWatches ??= new Map());

/**
 * With Redis: once a second per stream watching the tenant, shared — so 1 stream polls every 1 s,
 * 4 or more every 250 ms — which keeps the cost at ≤ 1 Redis call per stream per second while many
 * streams get their events sooner. EVENTS_WAKE_POLL_MS fixes the period.
 */
async function pollMs(watch: Watch): Promise<number> {
  const configured = Number(process.env.EVENTS_WAKE_POLL_MS);
  if (configured > 0) return configured;
  if (watch.failing) return 1_000;
  return (await getRedis()) ? Math.max(250, 1_000 / Math.max(1, watch.listeners.size)) : 100;
}

async function tick(tenantId: string, watch: Watch): Promise<void> {
  let moved: boolean;
  let typingMoved = false;
  try {
    // Both markers in the same turn: one Redis pipeline, so the poll still costs one round trip.
    const [version, typing] = await Promise.all([tagVersion(tenantId, EVENTS_TAG), tagVersion(tenantId, TYPING_TAG)]);
    // The first observation counts as a move: a stream that read the log just before it must read
    // again, or a write landing between its read and this first look would go unnoticed.
    moved = watch.version !== version;
    watch.version = version;
    // Typing is ephemeral: indicators from before the first look are not replayed.
    typingMoved = watch.typingVersion !== undefined && watch.typingVersion !== typing;
    watch.typingVersion = typing;
    watch.failing = false;
  } catch (error) {
    // No marker to read: wake the streams every poll (they read Postgres) until Redis is back.
    log("warn", "event wake-up marker unavailable; streams poll the database", errorFields(error));
    moved = true;
    watch.failing = true;
  }
  if (moved) for (const listener of [...watch.listeners]) listener();
  if (typingMoved && watch.typingListeners.size > 0) {
    // Read once for every stream of the tenant on this instance.
    const entries = await currentTyping(tenantId).catch((error) => {
      log("warn", "typing indicators unavailable", errorFields(error));
      return [];
    });
    if (entries.length) for (const listener of [...watch.typingListeners]) listener(entries);
  }
  if (watches.get(tenantId) === watch) watch.timer = setTimeout(() => void tick(tenantId, watch), await pollMs(watch));
}

/**
 * Calls `listener` whenever the tenant's events may have moved, and `onTyping` with the live
 * typing indicators whenever one is published; returns the unsubscribe.
 */
export function watchEvents(tenantId: string, listener: () => void, onTyping?: (entries: TypingEntry[]) => void): () => void {
  let watch = watches.get(tenantId);
  if (!watch) {
    const fresh: Watch = { listeners: new Set(), typingListeners: new Set() };
    watches.set(tenantId, fresh);
    watch = fresh;
    void tick(tenantId, fresh);
  }
  watch.listeners.add(listener);
  if (onTyping) watch.typingListeners.add(onTyping);
  const mine = watch;
  return () => {
    mine.listeners.delete(listener);
    if (onTyping) mine.typingListeners.delete(onTyping);
    if (mine.listeners.size === 0 && watches.get(tenantId) === mine) {
      clearTimeout(mine.timer);
      watches.delete(tenantId);
    }
  };
}

/** Tenants watched by this instance (tests). */
export const watchedTenants = () => [...watches.keys()];
