import { created } from "../../lib/http/reply.js";
import { route, preflight } from "../../lib/http/route.js";
import { FeedbackListQuery, StaffFeedbackCreate } from "../../lib/feedback/schemas.js";
import { createStaffFeedback, listFeedback } from "../../lib/feedback/service.js";

const path = "/api/feedbacks";

export const GET = route(path, { auth: "staff", query: FeedbackListQuery, cache: { ttl: 86400, tags: ["feedbacks"] } }, ({ auth, query }) => listFeedback(auth.tenant, query));

// Feedback taken by phone or in person. One feedback per order, so a retried request is a 409, not a duplicate.
export const POST = route(path, { auth: "admin", body: StaffFeedbackCreate }, async ({ auth, body }) => {
  const feedback = await createStaffFeedback(auth, body);
  return created(feedback, `/api/feedbacks/${feedback.id}`, feedback.version);
});

export const OPTIONS = preflight;
