import { noContent } from "../../lib/http/reply.js";
import { route, preflight } from "../../lib/http/route.js";
import { MemberOut, MemberParams, MemberRoleChange } from "../../lib/members/schemas.js";
import { changeRole, removeMember } from "../../lib/members/service.js";

export const DELETE = route("/api/members/[userId]", { auth: "admin", status: 204, errors: ["conflict"], params: MemberParams }, async ({ auth, params }) => {
  await removeMember(auth, params.userId);
  return noContent();
});

export const PATCH = route("/api/members/[userId]", { auth: "admin", output: MemberOut, errors: ["conflict"], params: MemberParams, body: MemberRoleChange }, ({ auth, params, body }) => changeRole(auth, params.userId, body));

export const OPTIONS = preflight;
