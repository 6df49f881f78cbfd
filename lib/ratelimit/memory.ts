// The in-process limiter used without Redis: the same sliding window as @upstash/ratelimit (this
// window's count plus the previous window's, weighted by how much of it still overlaps).
export interface LimitResult {
  success: boolean;
  limit: number;
  remaining: number;
  /** Epoch ms when the current window ends. */
  reset: number;
  /** Background work the limiter still has to do (Upstash: multi-region sync, analytics). */
  pending?: Promise<unknown>;
  reason?: string;
}

export function memorySlidingWindow(tokens: number, windowMs: number) {
  const counts = new Map<string, number>();
  return {
    async limit(identifier: string): Promise<LimitResult> {
      const now = Date.now();
      const window = Math.floor(now / windowMs);
      const reset = (window + 1) * windowMs;
      const current = counts.get(`${identifier}:${window}`) ?? 0;
      const previous = Math.floor((1 - (now % windowMs) / windowMs) * (counts.get(`${identifier}:${window - 1}`) ?? 0));
      if (current + previous >= tokens) return { success: false, limit: tokens, remaining: 0, reset };
      counts.set(`${identifier}:${window}`, current + 1);
      if (counts.size > 50_000) forgetOldWindows(counts, window - 1);
      return { success: true, limit: tokens, remaining: Math.max(0, tokens - current - 1 - previous), reset };
    },
  };
}

function forgetOldWindows(counts: Map<string, number>, oldest: number) {
  for (const key of counts.keys()) if (Number(key.slice(key.lastIndexOf(":") + 1)) < oldest) counts.delete(key);
}
