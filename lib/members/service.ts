import { getDb } from "../../db/client.js";
import { newId } from "../../db/ids.js";
import { forgetPrincipals, type AuthContext } from "../auth/session.js";
import { hasRole } from "../auth/roles.js";
import { ApiError, conflict, notFound } from "../http/errors.js";
import * as repo from "./repo.js";
import type { MemberInviteInput } from "./schemas.js";

export async function listMembers(auth: AuthContext) {
  const { db } = await getDb();
  return { items: await repo.listMembers(db, auth.tenant.id) };
}

export async function inviteMember(auth: AuthContext, input: MemberInviteInput) {
  if (!hasRole(auth.role, input.role)) throw new ApiError("forbidden", `Only an ${input.role} or above can invite an ${input.role}.`);
  const { db } = await getDb();
  const member = await repo.insertInvitation(db, auth.tenant.id, newId(), input.email, input.role, auth.userId);
  if (!member) throw conflict("This email is already a member or has a pending invitation.", [{ path: "email", message: "already a member or invited" }]);
  return member;
}

export async function removeMember(auth: AuthContext, id: string) {
  const { db } = await getDb();
  const outcome = await repo.removeMember(db, auth.tenant.id, id, auth.role);
  if ("missing" in outcome) throw notFound("Member");
  if ("outranked" in outcome) throw new ApiError("forbidden", "Only an owner can remove an owner.");
  if ("lastOwner" in outcome) throw conflict("A tenant must keep at least one owner.");
  // Role checks in this instance must not keep serving the removed membership from cache.
  forgetPrincipals();
}
