import { reply } from "../../../lib/http/reply.js";
import { route, preflight } from "../../../lib/http/route.js";
import { FeedbackTokenOut, OrderIdParams } from "../../../lib/feedback/schemas.js";
import { generateToken } from "../../../lib/feedback/service.js";

// The token is in this answer and nowhere else (the database keeps its hash): show it or send it now.
export const POST = route("/api/feedbacks/generate-token/[orderId]", { auth: "staff", output: FeedbackTokenOut, status: 201, errors: ["conflict"], params: OrderIdParams }, async ({ auth, params }) =>
  reply(await generateToken(auth, params.orderId), { status: 201 }),
);

export const OPTIONS = preflight;
