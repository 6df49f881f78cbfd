import { sql } from "../../db/sql.js";
import { query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { newId } from "../../db/ids.js";
import { toIso } from "../../db/values.js";
import type { Role } from "../../db/schema.js";
import type { Identity } from "./verify.js";

export interface Membership {
  tenantId: string;
  tenantSlug: string;
  tenantName: string;
  role: Role;
  /** Set when the tenant is soft-deleted: no route serves it, only its owners may restore it. */
  tenantDeletedAt: string | null;
}

export interface Principal {
  userId: string;
  email: string | null;
  name: string | null;
  memberships: Membership[];
}

/**
 * One statement, one round trip: upsert the user for this (issuer, subject), bind any pending
 * invitations for a verified email, and return every membership (the bound ones included — a CTE's
 * writes are not visible to the rest of the statement, hence the UNION).
 */
export async function loadPrincipal(db: Db, identity: Identity): Promise<Principal> {
  const rows = await query(
    db,
    sql`
    WITH upserted AS (
      INSERT INTO users (id, issuer, subject, email, name)
      VALUES (${newId()}, ${identity.issuer}, ${identity.subject}, ${identity.email}, ${identity.name})
      ON CONFLICT (issuer, subject) DO UPDATE
        SET email = COALESCE(EXCLUDED.email, users.email), name = COALESCE(EXCLUDED.name, users.name), updated_at = now()
      RETURNING id, email, name
    ), bound AS (
      UPDATE memberships m SET user_id = (SELECT id FROM upserted), updated_at = now()
      WHERE m.user_id IS NULL
        AND ${identity.emailVerified && identity.email !== null}::boolean
        AND lower(m.invited_email) = lower(${identity.email ?? ""})
        AND NOT EXISTS (SELECT 1 FROM memberships x WHERE x.tenant_id = m.tenant_id AND x.user_id = (SELECT id FROM upserted))
      RETURNING m.tenant_id, m.role
    ), all_memberships AS (
      SELECT tenant_id, role FROM memberships WHERE user_id = (SELECT id FROM upserted)
      UNION ALL
      SELECT tenant_id, role FROM bound
    )
    SELECT (SELECT id FROM upserted) AS user_id, (SELECT email FROM upserted) AS user_email, (SELECT name FROM upserted) AS user_name,
           t.id AS tenant_id, t.slug, t.name AS tenant_name, t.deleted_at AS tenant_deleted_at, a.role
    FROM (SELECT 1) AS one
    LEFT JOIN all_memberships a ON true
    LEFT JOIN tenants t ON t.id = a.tenant_id
    ORDER BY t.slug`,
  );
  const userId = String(rows[0]!.user_id);
  const memberships = rows
    .filter((r) => r.tenant_id !== null)
    .map((r) => ({
      tenantId: String(r.tenant_id),
      tenantSlug: String(r.slug),
      tenantName: String(r.tenant_name),
      role: r.role as Role,
      tenantDeletedAt: r.tenant_deleted_at === null || r.tenant_deleted_at === undefined ? null : toIso(r.tenant_deleted_at),
    }));
  const first = rows[0]!;
  return { userId, email: (first.user_email as string | null) ?? null, name: (first.user_name as string | null) ?? null, memberships };
}
