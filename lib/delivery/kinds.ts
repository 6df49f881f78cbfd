// What differs between kinds of delivery target. Everything else (tables, claim, signing, schedule,
// SSRF guard, dead letters, disabling) is shared: a new kind (chat connectors) adds a line here and
// writes its endpoints into delivery_endpoints with its own `kind`.

/** The event (lib/events/catalog.ts) written when an endpoint of this kind gets disabled. */
export const DISABLED_EVENT: Record<string, string> = {
  webhook: "webhook.disabled",
};

/** The resource type of that event. */
export const RESOURCE_TYPE: Record<string, string> = {
  webhook: "webhook",
};
