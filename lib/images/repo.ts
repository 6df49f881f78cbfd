import { sql } from "../../db/sql.js";
import { query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import type { QueuedDeletion } from "../items/repo.js";

const idList = (ids: string[]) => sql.join(ids.map((id) => sql`${id}::uuid`), sql`, `);

export async function forgetDeletions(db: Db, ids: string[]): Promise<void> {
  if (ids.length) await query(db, sql`DELETE FROM blob_deletions WHERE id IN (${idList(ids)})`);
}

export async function noteFailedDeletions(db: Db, ids: string[]): Promise<void> {
  if (ids.length) await query(db, sql`UPDATE blob_deletions SET attempts = attempts + 1 WHERE id IN (${idList(ids)})`);
}

/** Oldest first. Two overlapping runs may both try a blob: deleting a blob twice is harmless. */
export async function pendingDeletions(db: Db, limit: number): Promise<QueuedDeletion[]> {
  const rows = await query(db, sql`SELECT id, url FROM blob_deletions ORDER BY created_at LIMIT ${limit}`);
  return rows.map((r) => ({ id: String(r.id), url: String(r.url) }));
}
