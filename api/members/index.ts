import { created } from "../../lib/http/reply.js";
import { route, preflight } from "../../lib/http/route.js";
import { MemberInvite, MemberListOut, MemberOut } from "../../lib/members/schemas.js";
import { inviteMember, listMembers } from "../../lib/members/service.js";

const path = "/api/members";

export const GET = route(path, { auth: "admin", output: MemberListOut }, ({ auth }) => listMembers(auth));

export const POST = route(path, { auth: "admin", output: MemberOut, status: 201, errors: ["conflict"], body: MemberInvite }, async ({ auth, body }) => created(await inviteMember(auth, body)));

export const OPTIONS = preflight;
