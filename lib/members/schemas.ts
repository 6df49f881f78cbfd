import * as v from "valibot";
import { ROLES } from "../../db/enums.js";
import { nullableString, timestampOut, uuidOut } from "../http/outputs.js";
import { uuid, text } from "../http/inputs.js";

export const MemberInvite = v.strictObject({
  email: v.pipe(text(), v.trim(), v.toLowerCase(), v.maxLength(254, "must be at most 254 characters"), v.email("must be an email address")),
  role: v.picklist(["owner", "admin", "staff"], "must be owner, admin or staff"),
});
export type MemberInviteInput = v.InferOutput<typeof MemberInvite>;

export const MemberParams = v.object({ userId: uuid });

export const MemberRoleChange = v.strictObject({
  role: v.picklist(["owner", "admin", "staff"], "must be owner, admin or staff"),
});
export type MemberRoleChangeInput = v.InferOutput<typeof MemberRoleChange>;

export const OwnershipTransfer = v.strictObject({ userId: uuid });

// Output schemas.
export const MemberOut = v.strictObject({
  userId: v.nullable(uuidOut),
  invitationId: uuidOut,
  email: nullableString,
  name: nullableString,
  role: v.picklist(ROLES),
  status: v.picklist(["active", "invited"]),
  createdAt: timestampOut,
});
export const MemberListOut = v.strictObject({ items: v.array(MemberOut) });
export const OwnershipTransferOut = v.strictObject({ ownerId: uuidOut, yourRole: v.literal("admin") });
