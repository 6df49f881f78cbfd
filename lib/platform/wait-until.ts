import { log } from "./log.js";
import { errorFields } from "./log-error.js";

// Work after the response must be handed to Vercel's waitUntil or the instance may freeze first.
// This is what @vercel/functions' waitUntil does (read the request context Vercel's runtime puts
// under this global symbol); inlined because importing that package costs ~18 ms of cold start.
// Locally there is no context, so we also track the promises: the dev runtime and tests await them
// with settleBackgroundWork().
const REQUEST_CONTEXT = Symbol.for("@vercel/request-context");
type VercelContext = { waitUntil?: (promise: Promise<unknown>) => void };
type ContextHolder = { [REQUEST_CONTEXT]?: { get?: () => VercelContext | undefined } };

const slot = globalThis as typeof globalThis & ContextHolder & { __tallyPending?: Set<Promise<unknown>> };
const pending = (slot.__tallyPending ??= new Set());

export function waitUntil(work: Promise<unknown>, label = "background"): void {
  const tracked = work.catch((error: unknown) => log("error", "background work failed", { label, ...errorFields(error) }));
  pending.add(tracked);
  void tracked.finally(() => pending.delete(tracked));
  slot[REQUEST_CONTEXT]?.get?.()?.waitUntil?.(tracked);
}

export async function settleBackgroundWork(): Promise<void> {
  while (pending.size > 0) await Promise.all([...pending]);
}
