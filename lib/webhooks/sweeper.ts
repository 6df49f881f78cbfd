import { runDue } from "../delivery/engine.js";

/** The sweeper's share of one invocation: it stops claiming after this long (sends in flight finish). */
export const SWEEP_BUDGET_MS = 40_000;

/**
 * One cron run: claims and sends due deliveries until none are due or the budget is spent. Several
 * may run at once (a slow run overlapping the next minute's): SKIP LOCKED gives each its own rows.
 */
export function sweep(now: () => number = Date.now) {
  return runDue({ deadline: now() + SWEEP_BUDGET_MS, now });
}
