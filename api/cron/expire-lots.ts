import { route, preflight } from "../../lib/http/route.js";
import { expireLots } from "../../lib/inventory/lots-service.js";
import { ExpireLotsOut, ExpireLotsQuery } from "../../lib/inventory/schemas.js";

// Daily (vercel.json; Vercel's crons send GET): writes off lots past their expiry date, exactly once
// (ledger reason 'expired', event lot.expired). POST does the same, for running it by hand;
// ?tenant=<id> limits a run to one tenant.
export const GET = route("/api/cron/expire-lots", { auth: "cron", output: ExpireLotsOut, query: ExpireLotsQuery }, ({ query }) => expireLots(query));
export const POST = route("/api/cron/expire-lots", { auth: "cron", output: ExpireLotsOut, query: ExpireLotsQuery }, ({ query }) => expireLots(query));

export const OPTIONS = preflight;
