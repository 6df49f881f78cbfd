import { getDb } from "../../db/client.js";
import { newId } from "../../db/ids.js";
import { forgetPrincipals, type AuthContext } from "../auth/session.js";
import { hasRole } from "../auth/roles.js";
import { ApiError, conflict, notFound } from "../http/errors.js";
import * as repo from "./repo.js";
import { actorOf } from "../events/outbox.js";
import { kick } from "../delivery/kick.js";
import type { MemberInviteInput, MemberRoleChangeInput } from "./schemas.js";

export async function listMembers(auth: AuthContext) {
  const { db } = await getDb();
  return { items: await repo.listMembers(db, auth.tenant.id) };
}

export async function inviteMember(auth: AuthContext, input: MemberInviteInput) {
  if (!hasRole(auth.role, input.role)) throw new ApiError("forbidden", `Only an ${input.role} or above can invite an ${input.role}.`);
  const { db } = await getDb();
  const member = await repo.insertInvitation(db, auth.tenant.id, newId(), input.email, input.role, auth.userId, actorOf(auth));
  if (!member) throw conflict("This email is already a member or has a pending invitation.", [{ path: "email", message: "already a member or invited" }]);
  // Member writes touch no cached data (so no invalidate()), but their events may have webhook deliveries.
  kick(auth.tenant.id);
  return member;
}

export async function removeMember(auth: AuthContext, id: string) {
  const { db } = await getDb();
  const outcome = await repo.removeMember(db, auth.tenant.id, id, auth.role, actorOf(auth));
  if ("missing" in outcome) throw notFound("Member");
  if ("outranked" in outcome) throw new ApiError("forbidden", "Only an owner can remove an owner.");
  if ("lastOwner" in outcome) throw conflict("A tenant must keep at least one owner.");
  // Role checks in this instance must not keep serving the removed membership from cache.
  forgetPrincipals();
  kick(auth.tenant.id);
}

export async function changeRole(auth: AuthContext, userId: string, input: MemberRoleChangeInput) {
  if (!hasRole(auth.role, input.role)) throw new ApiError("forbidden", `Only an ${input.role} or above can grant the ${input.role} role.`, [{ path: "role", message: "above your own role" }]);
  const { db } = await getDb();
  const outcome = await repo.changeRole(db, auth.tenant.id, userId, input.role, auth.role, actorOf(auth));
  if ("missing" in outcome) throw notFound("Member");
  if ("outranked" in outcome) throw new ApiError("forbidden", "Only an owner can change an owner's role.");
  if ("lastOwner" in outcome) throw conflict("A tenant must keep at least one owner; make someone else an owner first.");
  forgetPrincipals();
  kick(auth.tenant.id);
  return outcome.changed;
}

/** Members act as people: an API key has no membership to leave or ownership to hand over. */
function person(auth: AuthContext): void {
  if (auth.apiKeyId) throw new ApiError("forbidden", "This action needs a signed-in member, not an API key.");
}

export async function transferOwnership(auth: AuthContext, toUserId: string) {
  person(auth);
  if (toUserId === auth.userId) throw new ApiError("unprocessable", "You already own this tenant.", [{ path: "userId", message: "must be another member" }]);
  const { db } = await getDb();
  const outcome = await repo.transferOwnership(db, auth.tenant.id, auth.userId, toUserId, actorOf(auth));
  if ("notOwner" in outcome) throw new ApiError("forbidden", "Only an owner can transfer ownership.");
  if ("missing" in outcome) throw notFound("Member");
  forgetPrincipals();
  kick(auth.tenant.id);
  return { ownerId: toUserId, yourRole: "admin" as const };
}

export async function leave(auth: AuthContext) {
  person(auth);
  const { db } = await getDb();
  // Leaving is removing oneself: the same last-owner guard as any removal.
  const outcome = await repo.removeMember(db, auth.tenant.id, auth.userId, "owner", actorOf(auth));
  if ("missing" in outcome) throw notFound("Membership");
  if (!("removed" in outcome)) throw conflict("The last owner cannot leave; transfer ownership or delete the tenant.");
  forgetPrincipals();
  kick(auth.tenant.id);
}
