import { sql, type SQL } from "../../db/sql.js";
import { query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { toIso } from "../../db/values.js";
import type { Role } from "../../db/schema.js";
import { eventsCte, type Actor } from "../events/outbox.js";

/**
 * CTE `member_events`: one `type` event per row of `source` (membership columns id, user_id,
 * invited_email, role, and `from_role` for role changes).
 */
function memberEvents(tenantId: string, actor: Actor, type: string, source: SQL, withFrom = false): SQL {
  return eventsCte(
    "member_events",
    tenantId,
    actor,
    sql`SELECT ${type}::text AS type, 'member' AS resource_type, x.id AS resource_id,
      jsonb_build_object('member', jsonb_build_object('id', x.id, 'userId', x.user_id, 'role', x.role,
        'email', coalesce((SELECT u.email FROM users u WHERE u.id = x.user_id), x.invited_email)) ${withFrom ? sql`, 'from', x.from_role` : sql``}) AS data
      FROM (${source}) x`,
  );
}

export interface Member {
  /** The user's id once the invitation is accepted; null while it is pending. */
  userId: string | null;
  /** The invitation's id; DELETE accepts it to revoke a pending invitation. */
  invitationId: string;
  email: string | null;
  name: string | null;
  role: Role;
  status: "active" | "invited";
  createdAt: string;
}

function toMember(row: Record<string, unknown>): Member {
  return {
    userId: (row.user_id as string | null) ?? null,
    invitationId: String(row.id),
    email: ((row.email ?? row.invited_email) as string | null) ?? null,
    name: (row.name as string | null) ?? null,
    role: row.role as Role,
    status: row.user_id ? "active" : "invited",
    createdAt: toIso(row.created_at),
  };
}

export async function listMembers(db: Db, tenantId: string): Promise<Member[]> {
  const rows = await query(
    db,
    sql`SELECT m.id, m.user_id, m.invited_email, m.role, m.created_at, u.email, u.name
        FROM memberships m LEFT JOIN users u ON u.id = m.user_id
        WHERE m.tenant_id = ${tenantId} ORDER BY m.created_at, m.id`,
  );
  return rows.map(toMember);
}

/** Inserts a pending invitation unless the email is already a member or invited; one round trip. */
export async function insertInvitation(db: Db, tenantId: string, id: string, email: string, role: Role, invitedBy: string, actor: Actor): Promise<Member | undefined> {
  const rows = await query(
    db,
    sql`WITH made AS (
          INSERT INTO memberships (id, tenant_id, invited_email, role, invited_by)
          SELECT ${id}, ${tenantId}, ${email}, ${role}, ${invitedBy}
          WHERE NOT EXISTS (
            SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
            WHERE m.tenant_id = ${tenantId} AND lower(u.email) = ${email}
          )
          ON CONFLICT DO NOTHING
          RETURNING id, user_id, invited_email, role, created_at
        ),
        ${memberEvents(tenantId, actor, "member.invited", sql`SELECT * FROM made`)}
        SELECT * FROM made`,
  );
  return rows[0] ? toMember(rows[0]) : undefined;
}

export type Removal = { removed: true } | { missing: true } | { outranked: true } | { lastOwner: true };

/**
 * Removes a member (by user id) or a pending invitation (by its id). An admin cannot remove an
 * owner, and the last active owner cannot be removed; the owner rows are locked so two owners
 * removing each other at once cannot leave the tenant ownerless.
 */
export async function removeMember(db: Db, tenantId: string, id: string, actorRole: Role, actor: Actor): Promise<Removal> {
  const rows = await query(
    db,
    sql`
    WITH target AS (
      SELECT m.id, m.role, m.user_id FROM memberships m
      WHERE m.tenant_id = ${tenantId} AND (m.user_id = ${id} OR (m.user_id IS NULL AND m.id = ${id}))
    ), owners AS (
      SELECT count(*) AS n FROM (SELECT 1 FROM memberships o WHERE o.tenant_id = ${tenantId} AND o.role = 'owner' AND o.user_id IS NOT NULL FOR UPDATE) locked
    ), removed AS (
      DELETE FROM memberships m USING target t
      WHERE m.id = t.id
        AND (t.role <> 'owner' OR ${actorRole} = 'owner')
        AND (t.role <> 'owner' OR t.user_id IS NULL OR (SELECT n FROM owners) > 1)
      RETURNING m.id, m.user_id, m.invited_email, m.role
    ),
    ${memberEvents(tenantId, actor, "member.removed", sql`SELECT * FROM removed`)}
    SELECT (SELECT role FROM target) AS role, (SELECT count(*) FROM removed) AS removed`,
  );
  const row = rows[0]!;
  if (Number(row.removed) > 0) return { removed: true };
  if (row.role === null || row.role === undefined) return { missing: true };
  if (row.role === "owner" && actorRole !== "owner") return { outranked: true };
  return { lastOwner: true };
}

/** Every active owner row of the tenant, locked in id order (one order for every writer: no deadlocks). */
const lockedOwners = (tenantId: string) => sql`
  owners AS (
    SELECT count(*) AS n FROM (
      SELECT 1 FROM memberships o WHERE o.tenant_id = ${tenantId} AND o.role = 'owner' AND o.user_id IS NOT NULL ORDER BY o.id FOR UPDATE
    ) locked
  )`;

export type RoleChange = { changed: Member } | { missing: true } | { outranked: true } | { lastOwner: true };

/**
 * Sets an active member's role. Owners may set any role; anyone else may not touch an owner (the
 * caller passes only roles it may grant). The owner rows are locked first, and a row locked FOR
 * UPDATE is re-checked at its latest version, so concurrent demotions, removals and transfers see
 * each other: the tenant always keeps at least one owner.
 */
export async function changeRole(db: Db, tenantId: string, userId: string, role: Role, actorRole: Role, actor: Actor): Promise<RoleChange> {
  const rows = await query(
    db,
    sql`
    WITH ${lockedOwners(tenantId)},
    target AS (SELECT m.id, m.role FROM memberships m WHERE m.tenant_id = ${tenantId} AND m.user_id = ${userId} FOR UPDATE),
    changed AS (
      UPDATE memberships m SET role = ${role}, updated_at = now()
      FROM target t
      WHERE m.id = t.id
        AND (t.role <> 'owner' OR ${actorRole} = 'owner')
        AND (t.role <> 'owner' OR ${role} = 'owner' OR (SELECT n FROM owners) > 1)
      RETURNING m.id, m.user_id, m.invited_email, m.role, m.created_at
    ),
    ${memberEvents(tenantId, actor, "member.role_changed", sql`SELECT c.*, t.role AS from_role FROM changed c JOIN target t ON t.id = c.id WHERE c.role <> t.role`, true)}
    SELECT (SELECT role FROM target) AS current_role, c.*, u.email, u.name
    FROM (SELECT 1) one LEFT JOIN changed c ON true LEFT JOIN users u ON u.id = c.user_id`,
  );
  const row = rows[0]!;
  if (row.id) return { changed: toMember(row) };
  if (row.current_role === null || row.current_role === undefined) return { missing: true };
  if (row.current_role === "owner" && actorRole !== "owner") return { outranked: true };
  return { lastOwner: true };
}

export type Transfer = { transferred: true } | { notOwner: true } | { missing: true };

/**
 * The caller (an owner) makes another active member an owner and becomes an admin, in one
 * statement: the promotion happens before the demotion can, so there is never a moment without an
 * owner; the caller's row is locked and re-checked, so two transfers from one owner cannot both win.
 */
export async function transferOwnership(db: Db, tenantId: string, fromUserId: string, toUserId: string, actor: Actor): Promise<Transfer> {
  const rows = await query(
    db,
    sql`
    WITH ${lockedOwners(tenantId)},
    caller AS (SELECT m.id FROM memberships m WHERE m.tenant_id = ${tenantId} AND m.user_id = ${fromUserId} AND m.role = 'owner' FOR UPDATE),
    target AS (SELECT m.id, m.role FROM memberships m WHERE m.tenant_id = ${tenantId} AND m.user_id = ${toUserId} AND m.user_id <> ${fromUserId} FOR UPDATE),
    promoted AS (
      UPDATE memberships m SET role = 'owner', updated_at = now() FROM target t
      WHERE m.id = t.id AND EXISTS (SELECT 1 FROM caller) AND (SELECT n FROM owners) >= 1
      RETURNING m.id, m.user_id, m.invited_email, m.role
    ),
    demoted AS (
      UPDATE memberships m SET role = 'admin', updated_at = now() FROM caller c
      WHERE m.id = c.id AND EXISTS (SELECT 1 FROM promoted)
      RETURNING m.id, m.user_id, m.invited_email, m.role
    ),
    ${memberEvents(
      tenantId,
      actor,
      "member.role_changed",
      sql`SELECT p.*, t.role AS from_role FROM promoted p JOIN target t ON t.id = p.id WHERE t.role <> 'owner'
          UNION ALL SELECT d.*, 'owner' AS from_role FROM demoted d`,
      true,
    )}
    SELECT EXISTS (SELECT 1 FROM caller) AS is_owner, EXISTS (SELECT 1 FROM target) AS has_target, EXISTS (SELECT 1 FROM demoted) AS done`,
  );
  const row = rows[0]!;
  const yes = (v: unknown) => v === true || v === "t";
  if (yes(row.done)) return { transferred: true };
  if (!yes(row.is_owner)) return { notOwner: true };
  return { missing: true };
}
