import { route, preflight } from "../../lib/http/route.js";
import { cleanupBlobs } from "../../lib/images/service.js";

// Retries deletions of replaced or purged images that failed right after their request.
export const GET = route("/api/cron/blob-cleanup", { auth: "cron" }, () => cleanupBlobs());

export const OPTIONS = preflight;
