import { route, preflight } from "../../lib/http/route.js";
import { expireReservations } from "../../lib/storefront/orders.js";
import { ExpireReservationsOut } from "../../lib/storefront/schemas.js";

// Releases the stock of pay-later orders whose reservation passed (up to 500 a run; `more` says
// there were at least that many). Vercel Cron sends GET; POST does the same for a manual run.
const path = "/api/cron/expire-reservations";
export const GET = route(path, { auth: "cron", output: ExpireReservationsOut }, () => expireReservations());
export const POST = route(path, { auth: "cron", output: ExpireReservationsOut }, () => expireReservations());

export const OPTIONS = preflight;
