import { getDb } from "../../db/client.js";
import { invalidate } from "../cache/response-cache.js";
import { markNoEndpoints } from "./kick.js";
import { claimDue, recordOutcomes, type Claimed, type Outcome } from "./repo.js";
import { nextDelayMs } from "./schedule.js";
import type { AttemptResult } from "./send.js";
import { signedHeaders } from "./signing.js";

// The delivery engine's driver (imports undici lazily: only code that sends pays for it): claim due deliveries (one statement, SKIP LOCKED), send each signed
// attempt through the SSRF guard, record every outcome (one statement each). Called right after a
// commit that queued deliveries (kick(), via waitUntil) and by the every-minute cron sweeper.

export interface RunOptions {
  /** Only this tenant's deliveries (the post-commit kick); all tenants otherwise (the sweeper). */
  tenantId?: string;
  /** Deliveries per claim. */
  batch?: number;
  /** Stop claiming after this many claims (each claim is one round of sends). */
  rounds?: number;
  /** Stop claiming once this time (ms since epoch) has passed. */
  deadline?: number;
  /** The clock (tests move it instead of waiting). */
  now?: () => number;
  /** The sender (tests may wrap it); default: attempt() through the SSRF guard. */
  send?: (url: string, headers: Record<string, string>, body: string) => Promise<AttemptResult>;
}

export interface RunResult {
  claimed: number;
  delivered: number;
  failed: number;
  dead: number;
  disabledEndpoints: number;
}

export async function runDue(options: RunOptions = {}): Promise<RunResult> {
  const { db } = await getDb();
  const now = options.now ?? Date.now;
  const batch = options.batch ?? 50;
  const rounds = options.rounds ?? Infinity;
  const result: RunResult = { claimed: 0, delivered: 0, failed: 0, dead: 0, disabledEndpoints: 0 };
  for (let round = 0; round < rounds; round++) {
    if (options.deadline !== undefined && now() >= options.deadline) break;
    const { claimed, hasEndpoints } = await claimDue(db, new Date(now()), batch, options.tenantId);
    if (options.tenantId && !hasEndpoints) markNoEndpoints(options.tenantId);
    result.claimed += claimed.length;
    const record = outcomeBatcher(db, result);
    await Promise.all(
      claimed.map(async (c) => {
        const outcome = await deliverOne(c, now, options.send ?? (await import("./send.js")).attempt);
        await record(outcome);
        if (outcome.delivered) result.delivered++;
        else if (outcome.nextAt) result.failed++;
        else result.dead++;
      }),
    );
    if (claimed.length < batch) break;
  }
  return result;
}

/**
 * Outcomes that arrive within a few milliseconds of each other are recorded in one statement (one
 * round trip for a burst of fast answers), while a slow receiver's outcome waits for nobody.
 */
function outcomeBatcher(db: Parameters<typeof recordOutcomes>[0], result: RunResult) {
  let pending: { outcome: Outcome; done: (error?: unknown) => void }[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const flush = async () => {
    const batch = pending;
    pending = [];
    timer = undefined;
    try {
      const recorded = await recordOutcomes(db, batch.map((p) => p.outcome));
      result.disabledEndpoints += recorded.disabledTenants.length;
      // A disabled endpoint or a connector message's new status wrote an event: wake the tenant's
      // streams (and send the webhooks those events queued) like any other write.
      for (const tenantId of recorded.touchedTenants) await invalidate(tenantId, ["webhooks", "connectors", "conversations"]);
      for (const p of batch) p.done();
    } catch (error) {
      for (const p of batch) p.done(error);
    }
  };
  return (outcome: Outcome) =>
    new Promise<void>((resolve, reject) => {
      pending.push({ outcome, done: (error) => (error ? reject(error) : resolve()) });
      timer ??= setTimeout(() => void flush(), RECORD_WINDOW_MS);
    });
}

const RECORD_WINDOW_MS = 5;

async function deliverOne(c: Claimed, now: () => number, send: NonNullable<RunOptions["send"]>): Promise<Outcome> {
  const sentAt = now();
  const headers = signedHeaders(c.secrets, c.id, Math.floor(sentAt / 1000), c.body);
  const r = await send(c.url, headers, c.body);
  const at = new Date(Math.max(now(), sentAt));
  const delivered = r.error === undefined && r.status !== undefined && r.status >= 200 && r.status < 300;
  const gone = r.status === 410;
  const delay = delivered || gone ? undefined : nextDelayMs(c.attemptInRound, r.retryAfterMs);
  return {
    id: c.id,
    attempt: c.attempt,
    at,
    delivered,
    gone,
    ...(r.status !== undefined ? { status: r.status } : {}),
    ...(r.error !== undefined ? { error: r.error } : {}),
    ...(r.body !== undefined ? { body: r.body } : {}),
    ...(delay !== undefined ? { nextAt: new Date(at.getTime() + delay) } : {}),
  };
}
