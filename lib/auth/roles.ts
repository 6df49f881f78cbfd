import type { Role } from "../../db/schema.js";

export type { Role };
export const ROLE_RANK: Record<Role, number> = { staff: 1, admin: 2, owner: 3 };

export function hasRole(actual: Role, required: Role): boolean {
  return ROLE_RANK[actual] >= ROLE_RANK[required];
}
