import { reply } from "../../../lib/http/reply.js";
import { route, preflight } from "../../../lib/http/route.js";
import { PublicFeedbackCreate, PublicFeedbackListQuery, SubmittedFeedbackOut, TestimonialPageOut } from "../../../lib/feedback/schemas.js";
import { listPublished, submitFeedback } from "../../../lib/feedback/service.js";

const path = "/api/public/feedbacks";

// No auth: a shop's testimonials (published and consented feedback, first names only).
export const GET = route(path, { auth: "public", output: TestimonialPageOut, errors: ["not_found"], query: PublicFeedbackListQuery }, ({ query }) => listPublished(query));

// No auth: the feedback token in the body is the credential. Needs the strict per-IP rate limit.
export const POST = route(path, { auth: "public", output: SubmittedFeedbackOut, status: 201, errors: ["not_found", "gone", "conflict"], body: PublicFeedbackCreate, maxBodyBytes: 16_000, idempotent: true }, async ({ body, idempotency }) => {
  const { feedback, replayed } = await submitFeedback(body, idempotency);
  return reply(feedback, { status: 201, headers: { "Cache-Control": "no-store", ...(replayed ? { "Idempotent-Replayed": "true" } : {}) } });
});

export const OPTIONS = preflight;
