import { newRoundTripScope, withRoundTripScope } from "../../db/round-trips.js";
import { waitUntil } from "../platform/wait-until.js";

// The post-commit start of delivery. Kept apart from the engine so every write path can call it
// without importing the sender (undici) on its cold path.

// Tenants this instance recently found without any enabled endpoint: writes of such tenants skip the
// post-commit claim (no extra database trip for tenants that use no webhooks). An endpoint created
// on another instance is therefore first served by that instance's kick or by the sweeper, at most
// NO_ENDPOINTS_TTL_MS (or one sweep) later; one created here clears the entry at once.
const NO_ENDPOINTS_TTL_MS = 10_000;
const slot = globalThis as typeof globalThis & { __tallyNoEndpoints?: Map<string, number> };
const noEndpoints = (slot.__tallyNoEndpoints ??= new Map());

export function endpointsChanged(tenantId: string): void {
  noEndpoints.delete(tenantId);
}

export function markNoEndpoints(tenantId: string, now = Date.now()): void {
  noEndpoints.set(tenantId, now + NO_ENDPOINTS_TTL_MS);
}

/**
 * After a commit that may have queued deliveries for `tenantId`: claim and send them in the
 * background (waitUntil), outside the request's round-trip count (the response is already decided).
 */
export function kick(tenantId: string): void {
  const until = noEndpoints.get(tenantId);
  if (until !== undefined && until > Date.now()) return;
  if (until !== undefined) noEndpoints.delete(tenantId);
  const work = new Promise<void>((resolve) => setImmediate(resolve)).then(() =>
    withRoundTripScope(newRoundTripScope(), async () => (await import("./engine.js")).runDue({ tenantId, batch: 20, rounds: 3 })),
  );
  waitUntil(work, "delivery kick");
}
