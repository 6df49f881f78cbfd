import { route, preflight } from "../../lib/http/route.js";
import { purgeDeletedTenants } from "../../lib/tenants/purge.js";

// Daily (vercel.json): tenants deleted more than 30 days ago are purged with all their rows and images.
export const GET = route("/api/cron/purge-tenants", { auth: "cron" }, () => purgeDeletedTenants());

export const OPTIONS = preflight;
