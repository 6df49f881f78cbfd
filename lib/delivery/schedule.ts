// When a failed delivery is tried again: the delay after attempt n of a round (1-based) is
// SCHEDULE_MS[n - 1] ± 10 % jitter (so endpoints that failed together do not retry together); after
// the last entry fails the delivery is dead-lettered. The sum is about 3 days (80 h 35 m).
export const SCHEDULE_MS = [5_000, 5 * 60_000, 30 * 60_000, 2 * 3600_000, 5 * 3600_000, 10 * 3600_000, 14 * 3600_000, 20 * 3600_000, 24 * 3600_000];

/** Attempts per round: the first plus one per schedule entry. */
export const MAX_ATTEMPTS = SCHEDULE_MS.length + 1;

/** A Retry-After (on 429/503) is honoured up to this long; beyond it the endpoint is treated as down. */
export const MAX_RETRY_AFTER_MS = 24 * 3600_000;

/** Failing every attempt for this long disables an endpoint. */
export const DISABLE_AFTER_MS = 5 * 24 * 3600_000;

/**
 * The delay before the next attempt after attempt `attemptInRound` failed, or undefined when that was
 * the last one (dead letter). `retryAfterMs` (a 429/503's Retry-After) replaces the schedule's delay
 * for this step when present: the receiver said when it can take the request.
 */
export function nextDelayMs(attemptInRound: number, retryAfterMs?: number, random: () => number = Math.random): number | undefined {
  if (attemptInRound >= MAX_ATTEMPTS) return undefined;
  if (retryAfterMs !== undefined) return Math.min(Math.max(retryAfterMs, 1000), MAX_RETRY_AFTER_MS);
  const base = SCHEDULE_MS[Math.max(0, attemptInRound - 1)]!;
  return Math.round(base * (0.9 + 0.2 * random()));
}

/** Retry-After as milliseconds (delta-seconds or an HTTP date), undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined | null, now: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d{1,10}$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
