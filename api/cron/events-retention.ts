import { route, preflight } from "../../lib/http/route.js";
import { enforceRetention } from "../../lib/events/service.js";
import { RetentionOut } from "../../lib/events/schemas.js";

// Deletes events past the retention period (EVENTS_RETENTION_DAYS, default 90).
export const GET = route("/api/cron/events-retention", { auth: "cron", output: RetentionOut }, () => enforceRetention());

export const OPTIONS = preflight;
