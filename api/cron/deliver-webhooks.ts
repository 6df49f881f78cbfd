import { route, preflight } from "../../lib/http/route.js";
import { sweep } from "../../lib/webhooks/sweeper.js";
import { SweepOut } from "../../lib/webhooks/schemas.js";

// Every minute (vercel.json): claims due deliveries of every tenant with SKIP LOCKED and sends them.
export const GET = route("/api/cron/deliver-webhooks", { auth: "cron", output: SweepOut }, () => sweep());

export const OPTIONS = preflight;
