import { reply } from "../../lib/http/reply.js";
import { route, preflight } from "../../lib/http/route.js";
import { FeedbackListQuery, FeedbackOut, FeedbackPageOut, StaffFeedbackCreate } from "../../lib/feedback/schemas.js";
import { createStaffFeedback, listFeedback } from "../../lib/feedback/service.js";

const path = "/api/feedbacks";

export const GET = route(path, { auth: "staff", output: FeedbackPageOut, query: FeedbackListQuery, cache: { ttl: 86400, tags: ["feedbacks"] } }, ({ auth, query }) => listFeedback(auth.tenant, query));

// Feedback taken by phone or in person. One feedback per order: a retry is a 409, or with the same
// Idempotency-Key a replay of the first answer.
export const POST = route(path, { auth: "admin", output: FeedbackOut, status: 201, errors: ["conflict"], body: StaffFeedbackCreate, idempotent: true }, async ({ auth, body, idempotency }) => {
  const { feedback, replayed } = await createStaffFeedback(auth, body, idempotency);
  return reply(feedback, {
    status: 201,
    version: feedback.version,
    headers: { Location: `/api/feedbacks/${feedback.id}`, ...(replayed ? { "Idempotent-Replayed": "true" } : {}) },
  });
});

export const OPTIONS = preflight;
