import { route, preflight } from "../../lib/http/route.js";
import { enforceRetention } from "../../lib/events/service.js";

// Deletes events past the retention period (EVENTS_RETENTION_DAYS, default 90).
export const GET = route("/api/cron/events-retention", { auth: "cron" }, () => enforceRetention());

export const OPTIONS = preflight;
