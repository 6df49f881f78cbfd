import { waitUntil as vercelWaitUntil } from "@vercel/functions";
import { log } from "./log.js";

// Work after the response must be handed to Vercel's waitUntil or the instance may freeze first.
// Locally that call does nothing, so we also track the promises: the dev runtime and tests await
// them with settleBackgroundWork().
const slot = globalThis as typeof globalThis & { __tallyPending?: Set<Promise<unknown>> };
const pending = (slot.__tallyPending ??= new Set());

export function waitUntil(work: Promise<unknown>, label = "background"): void {
  const tracked = work.catch((error: unknown) => log("error", "background work failed", { label, error: String(error) }));
  pending.add(tracked);
  void tracked.finally(() => pending.delete(tracked));
  vercelWaitUntil(tracked);
}

export async function settleBackgroundWork(): Promise<void> {
  while (pending.size > 0) await Promise.all([...pending]);
}
