import { responseCache } from "../cache/response-cache.js";
import { inRedis } from "../http/errors.js";
import { getRedis } from "../platform/redis.js";

// Typing indicators: ephemeral, never in the database. An indicator lives TYPING_MS in a per-tenant
// Redis sorted set (score: when it expires), and publishing bumps the tenant's "typing" tag version
// beside the events marker; the event-stream watcher (wake.ts) reads that version in the same poll
// as the events marker and, when it moved, reads the live indicators once for all its streams,
// which send them as `event: typing`. Without Redis (dev, tests) they live in this process.

export const TYPING_TAG = "typing";
export const TYPING_MS = 5_000;

export interface TypingActor {
  type: "user" | "api_key" | "customer";
  id: string | null;
}

export interface TypingEntry {
  conversationId: string;
  actor: TypingActor;
  /** When the indicator goes out unless it is renewed. */
  expiresAt: string;
}

const slot = globalThis as typeof globalThis & { __tallyTyping?: Map<string, Map<string, number>> };
const local = () => (slot.__tallyTyping ??= new Map());

const memberOf = (conversationId: string, actor: TypingActor) => JSON.stringify({ conversationId, actor });

function entryOf(member: unknown, until: number): TypingEntry | undefined {
  try {
    const parsed = (typeof member === "string" ? JSON.parse(member) : member) as { conversationId?: unknown; actor?: TypingActor };
    if (typeof parsed?.conversationId !== "string" || !parsed.actor) return undefined;
    return { conversationId: parsed.conversationId, actor: { type: parsed.actor.type, id: parsed.actor.id ?? null }, expiresAt: new Date(until).toISOString() };
  } catch {
    return undefined;
  }
}

/** Shows `actor` as typing in the conversation for TYPING_MS; returns when it expires. */
export async function publishTyping(tenantId: string, conversationId: string, actor: TypingActor, now = Date.now()): Promise<string> {
  const until = now + TYPING_MS;
  const handle = await getRedis();
  if (handle) {
    const key = `${handle.prefix}:typing:${tenantId}`;
    await inRedis("Typing indicators", () =>
      Promise.all([
        handle.redis.zadd(key, { score: until, member: memberOf(conversationId, actor) }),
        handle.redis.zremrangebyscore(key, 0, now),
        handle.redis.pexpire(key, TYPING_MS * 2),
      ]),
    );
  } else {
    const tenant = local().get(tenantId) ?? new Map<string, number>();
    for (const [member, expires] of tenant) if (expires <= now) tenant.delete(member);
    tenant.set(memberOf(conversationId, actor), until);
    local().set(tenantId, tenant);
  }
  // Only the typing tag: the event streams need not read the database for this.
  await responseCache().invalidate(tenantId, [TYPING_TAG]);
  return new Date(until).toISOString();
}

/** The tenant's live indicators. */
export async function currentTyping(tenantId: string, now = Date.now()): Promise<TypingEntry[]> {
  const handle = await getRedis();
  if (handle) {
    const key = `${handle.prefix}:typing:${tenantId}`;
    const flat = await handle.redis.zrange<unknown[]>(key, now + 1, "+inf", { byScore: true, withScores: true });
    const entries: TypingEntry[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const entry = entryOf(flat[i], Number(flat[i + 1]));
      if (entry) entries.push(entry);
    }
    return entries;
  }
  return [...(local().get(tenantId) ?? new Map<string, number>())].filter(([, until]) => until > now).flatMap(([member, until]) => entryOf(member, until) ?? []);
}
