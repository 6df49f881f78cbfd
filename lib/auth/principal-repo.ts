import { sql } from "../../db/sql.js";
import { query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { newId } from "../../db/ids.js";
import type { Role } from "../../db/schema.js";
import type { Identity } from "./verify.js";

export interface Membership {
  tenantId: string;
  tenantSlug: string;
  tenantName: string;
  role: Role;
}

export interface Principal {
  userId: string;
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
      RETURNING id
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
    SELECT (SELECT id FROM upserted) AS user_id, t.id AS tenant_id, t.slug, t.name AS tenant_name, a.role
    FROM (SELECT 1) AS one
    LEFT JOIN all_memberships a ON true
    LEFT JOIN tenants t ON t.id = a.tenant_id
    ORDER BY t.slug`,
  );
  const userId = String(rows[0]!.user_id);
  const memberships = rows
    .filter((r) => r.tenant_id !== null)
    .map((r) => ({ tenantId: String(r.tenant_id), tenantSlug: String(r.slug), tenantName: String(r.tenant_name), role: r.role as Role }));
  return { userId, memberships };
}
