import type { SQL } from "../../db/sql.js";
import { connectorOutcome } from "../connectors/outcome.js";

// What differs between kinds of delivery target. Everything else (tables, claim, signing, schedule,
// SSRF guard, dead letters, disabling) is shared: a new kind adds a line here and writes its
// endpoints into delivery_endpoints with its own `kind`.

/** The event (lib/events/catalog.ts) written when an endpoint of this kind gets disabled. */
export const DISABLED_EVENT: Record<string, string> = {
  webhook: "webhook.disabled",
  connector: "connector.disabled",
};

/** The resource type of that event. */
export const RESOURCE_TYPE: Record<string, string> = {
  webhook: "webhook",
  connector: "connector",
};

/**
 * What a kind does with attempt outcomes, inside the engine's outcome statement (one round trip):
 * `ctes(done)` are extra CTEs reading `done` (one row per recorded outcome: `id`, `tenant_id`,
 * `message_id`, `delivered`, `dead`, `gone`, `at`, `attempts`, `status`, `error`); `touched` is a
 * SELECT of `tenant_id` for tenants that got new events from them (their streams are woken).
 */
export interface OutcomeHook {
  ctes: (done: string) => SQL;
  touched: SQL;
}

export const OUTCOME_HOOKS: OutcomeHook[] = [connectorOutcome];
