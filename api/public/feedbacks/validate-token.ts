import { reply } from "../../../lib/http/reply.js";
import { route, preflight } from "../../../lib/http/route.js";
import { TokenBody, TokenValidationOut } from "../../../lib/feedback/schemas.js";
import { validateToken } from "../../../lib/feedback/service.js";

// POST, not GET: the token stays out of URLs, access logs and caches. Needs the strict per-IP rate limit.
export const POST = route("/api/public/feedbacks/validate-token", { auth: "public", output: TokenValidationOut, errors: ["not_found", "gone", "conflict"], body: TokenBody, maxBodyBytes: 4_000 }, async ({ body }) =>
  reply(await validateToken(body.token), { headers: { "Cache-Control": "no-store" } }),
);

export const OPTIONS = preflight;
