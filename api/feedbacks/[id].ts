import { IdParams } from "../../lib/http/inputs.js";
import { expectedVersion } from "../../lib/http/preconditions.js";
import { reply } from "../../lib/http/reply.js";
import { route, preflight } from "../../lib/http/route.js";
import { FeedbackOut, FeedbackUpdate } from "../../lib/feedback/schemas.js";
import { getFeedback, updateFeedback } from "../../lib/feedback/service.js";

const path = "/api/feedbacks/[id]";

export const GET = route(path, { auth: "staff", output: FeedbackOut, params: IdParams, cache: { ttl: 86400, tags: ["feedbacks"] } }, async ({ auth, params }) => {
  const feedback = await getFeedback(auth.tenant, params.id);
  return reply(feedback, { version: feedback.version });
});

export const PUT = route(path, { auth: "admin", output: FeedbackOut, errors: ["conflict", "precondition_failed"], params: IdParams, body: FeedbackUpdate }, async ({ auth, params, body, request }) => {
  const { version, ...changes } = body;
  const feedback = await updateFeedback(auth, params.id, changes, expectedVersion(request, version));
  return reply(feedback, { version: feedback.version });
});

export const OPTIONS = preflight;
