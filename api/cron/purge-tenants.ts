import { route, preflight } from "../../lib/http/route.js";
import { purgeDeletedTenants } from "../../lib/tenants/purge.js";
import { PurgeOut } from "../../lib/tenants/schemas.js";

// Daily (vercel.json): tenants deleted more than 30 days ago are purged with all their rows and images.
export const GET = route("/api/cron/purge-tenants", { auth: "cron", output: PurgeOut }, () => purgeDeletedTenants());

export const OPTIONS = preflight;
