import { route, preflight } from "../../lib/http/route.js";
import { FeedbackStatsOut, FeedbackStatsQuery } from "../../lib/feedback/schemas.js";
import { feedbackStats } from "../../lib/feedback/service.js";

export const GET = route("/api/feedbacks/stats", { auth: "staff", output: FeedbackStatsOut, query: FeedbackStatsQuery, cache: { ttl: 86400, tags: ["feedbacks"] } }, ({ auth, query }) => feedbackStats(auth.tenant, query));

export const OPTIONS = preflight;
