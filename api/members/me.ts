import { noContent } from "../../lib/http/reply.js";
import { route, preflight } from "../../lib/http/route.js";
import { leave } from "../../lib/members/service.js";

// Static beats dynamic: this file, not [userId].ts, serves /api/members/me. 404 when the membership
// is already gone (removed or left concurrently).
export const DELETE = route("/api/members/me", { auth: "staff", status: 204, errors: ["conflict", "not_found"] }, async ({ auth }) => {
  await leave(auth);
  return noContent();
});

export const OPTIONS = preflight;
