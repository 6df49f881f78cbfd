import { route, preflight } from "../../lib/http/route.js";
import { cleanupBlobs } from "../../lib/images/service.js";
import { BlobCleanupOut } from "../../lib/images/schemas.js";

// Retries deletions of replaced or purged images that failed right after their request.
export const GET = route("/api/cron/blob-cleanup", { auth: "cron", output: BlobCleanupOut }, () => cleanupBlobs());

export const OPTIONS = preflight;
