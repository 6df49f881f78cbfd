import { sql } from "../../db/sql.js";
import { query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { toIso, toIsoOrNull } from "../../db/values.js";
import type { Role } from "../auth/roles.js";

/** What a listing shows: never the key, never its hash. */
export interface ApiKeyInfo {
  id: string;
  name: string;
  role: Role;
  /** The key's first characters and last 4, to recognise it: "tly_live_Ab3x…9fQe". */
  prefix: string;
  last4: string;
  status: "active" | "expired" | "revoked";
  createdAt: string;
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
}

const COLUMNS = sql`id, name, role, display_prefix, last4, created_at, expires_at, revoked_at, last_used_at`;

function toInfo(row: Record<string, unknown>): ApiKeyInfo {
  const expiresAt = toIsoOrNull(row.expires_at);
  const revokedAt = toIsoOrNull(row.revoked_at);
  return {
    id: String(row.id),
    name: String(row.name),
    role: row.role as Role,
    prefix: String(row.display_prefix),
    last4: String(row.last4),
    status: revokedAt ? "revoked" : expiresAt && Date.parse(expiresAt) <= Date.now() ? "expired" : "active",
    createdAt: toIso(row.created_at),
    expiresAt,
    revokedAt,
    lastUsedAt: toIsoOrNull(row.last_used_at),
  };
}

export interface NewApiKey {
  id: string;
  tenantId: string;
  name: string;
  role: Role;
  keyHash: string;
  displayPrefix: string;
  last4: string;
  createdBy: string;
  expiresAt: string | null;
}

export async function insertApiKey(db: Db, k: NewApiKey): Promise<ApiKeyInfo> {
  const rows = await query(
    db,
    sql`INSERT INTO api_keys (id, tenant_id, name, role, key_hash, display_prefix, last4, created_by, expires_at)
        VALUES (${k.id}, ${k.tenantId}, ${k.name}, ${k.role}, ${k.keyHash}, ${k.displayPrefix}, ${k.last4}, ${k.createdBy}, ${k.expiresAt}::timestamptz)
        RETURNING ${COLUMNS}`,
  );
  return toInfo(rows[0]!);
}

export async function listApiKeys(db: Db, tenantId: string): Promise<ApiKeyInfo[]> {
  const rows = await query(db, sql`SELECT ${COLUMNS} FROM api_keys WHERE tenant_id = ${tenantId} ORDER BY created_at DESC, id DESC LIMIT 500`);
  return rows.map(toInfo);
}

/** Revokes a key of this tenant; revoking a revoked key changes nothing and still succeeds. */
export async function revokeApiKey(db: Db, tenantId: string, id: string): Promise<ApiKeyInfo | undefined> {
  const rows = await query(
    db,
    sql`WITH target AS (SELECT id FROM api_keys WHERE tenant_id = ${tenantId} AND id = ${id} FOR UPDATE),
        revoked AS (UPDATE api_keys k SET revoked_at = coalesce(k.revoked_at, now()) FROM target t WHERE k.id = t.id RETURNING k.*)
        SELECT ${COLUMNS} FROM revoked`,
  );
  return rows[0] ? toInfo(rows[0]) : undefined;
}
