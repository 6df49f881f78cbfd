import { route, preflight } from "../../lib/http/route.js";
import { cleanupBlobs } from "../../lib/images/service.js";
import { BlobCleanupOut } from "../../lib/images/schemas.js";
import { sweepImportFiles } from "../../lib/items/import-blob.js";

// Daily: retries deletions of replaced or purged images that failed right after their request, and
// deletes bulk-import files older than a day.
export const GET = route("/api/cron/blob-cleanup", { auth: "cron", output: BlobCleanupOut }, async () => ({ ...(await cleanupBlobs()), ...(await sweepImportFiles()) }));

export const OPTIONS = preflight;
