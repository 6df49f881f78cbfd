import { reply } from "../../../lib/http/reply.js";
import { route, preflight } from "../../../lib/http/route.js";
import { FeedbackOut, OrderIdParams } from "../../../lib/feedback/schemas.js";
import { getFeedbackForOrder } from "../../../lib/feedback/service.js";

export const GET = route("/api/feedbacks/order/[orderId]", { auth: "staff", output: FeedbackOut, params: OrderIdParams, cache: { ttl: 86400, tags: ["feedbacks"] } }, async ({ auth, params }) => {
  const feedback = await getFeedbackForOrder(auth.tenant, params.orderId);
  return reply(feedback, { version: feedback.version });
});

export const OPTIONS = preflight;
