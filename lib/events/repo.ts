import { sql, type SQL } from "../../db/sql.js";
import { query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { fromJson, toIso } from "../../db/values.js";
import { formatCursor, parseCursor, type Cursor } from "./cursor.js";
import type { ActorType } from "./outbox.js";

// Reading the log in commit order. A bigserial alone is not enough: a transaction takes its seq
// when it inserts but becomes visible when it commits, so a reader that moved past seq 12 would
// never see seq 11 committing a moment later. Every read therefore stops below the horizon — the
// oldest transaction still running (pg_snapshot_xmin of the statement's own snapshot): rows of
// transactions below it are all committed (or rolled back) and none can appear any more; rows at
// or above it wait for the next read. Ordered by (transaction_id, seq), a cursor only ever moves
// over a settled prefix of the log.

export interface Event {
  id: string;
  type: string;
  occurredAt: string;
  tenantId: string;
  actor: { type: ActorType; id: string | null };
  resource: { type: string; id: string };
  data: Record<string, unknown>;
  /** Its place in commit order (SSE `id:`, `after=`, `cursor=`). */
  cursor: string;
}

export function toEvent(row: Record<string, unknown>): Event {
  return {
    id: String(row.id),
    type: String(row.type),
    occurredAt: toIso(row.occurred_at),
    tenantId: String(row.tenant_id),
    actor: { type: row.actor_type as ActorType, id: (row.actor_id as string | null) ?? null },
    resource: { type: String(row.resource_type), id: String(row.resource_id) },
    data: isoTimes(fromJson(row.data)),
    cursor: formatCursor({ xid: String(row.xid), seq: String(row.seq) }),
  };
}

/**
 * Snapshots are built in SQL, where timestamps render in the session's offset ("+00:00"); the API
 * writes them as ISO 8601 UTC ("Z"). By the API's naming convention every field ending in "At" is
 * a timestamp, so those — and only those — are rewritten.
 */
function isoTimes<T>(value: T): T {
  if (Array.isArray(value)) return value.map(isoTimes) as T;
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value).map(([key, v]) => [key, key.endsWith("At") && typeof v === "string" ? toIso(v) : isoTimes(v)]),
  ) as T;
}

const COLUMNS = sql.raw("e.id, e.type, e.occurred_at, e.tenant_id, e.actor_type, e.actor_id, e.resource_type, e.resource_id, e.data, e.transaction_id::text AS xid, e.seq");
const SETTLED = sql`e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())`;
const after = (c: Cursor) => sql`(e.transaction_id, e.seq) > (${c.xid}::xid8, ${c.seq}::bigint)`;

/** `type = name`, or for a pattern ending in `*` (e.g. "order.*"), types starting with what precedes it. */
export function typeMatch(patterns: string[]): SQL {
  const each = patterns.map((p) => (p.endsWith("*") ? sql`starts_with(e.type, ${p.slice(0, -1)})` : sql`e.type = ${p}`));
  return sql`(${sql.join(each, sql` OR `)})`;
}

export interface Batch {
  events: Event[];
  /** Events of this tenant exist above the horizon: their transactions are still settling. */
  unsettled: boolean;
}

/** Up to `limit` settled events after `cursor`, in commit order (the stream's read). */
export async function readAfter(db: Db, tenantId: string, cursor: Cursor, limit: number, types?: string[]): Promise<Batch> {
  const rows = await query(
    db,
    sql`
    WITH batch AS (
      SELECT ${COLUMNS} FROM events e
      WHERE e.tenant_id = ${tenantId} AND ${SETTLED} AND ${after(cursor)} ${types?.length ? sql`AND ${typeMatch(types)}` : sql``}
      ORDER BY e.transaction_id, e.seq LIMIT ${limit}
    )
    SELECT b.*, u.unsettled
    FROM (SELECT EXISTS (SELECT 1 FROM events e WHERE e.tenant_id = ${tenantId} AND NOT ${SETTLED}) AS unsettled) u
    LEFT JOIN batch b ON true
    ORDER BY b.xid::xid8, b.seq`,
  );
  return { events: rows.filter((r) => r.id !== null && r.id !== undefined).map(toEvent), unsettled: rows[0]?.unsettled === true };
}

export interface EventFilter {
  types?: string[];
  resourceType?: string;
  resourceId?: string;
  actorType?: string;
  actorId?: string;
  from?: string;
  to?: string;
  cursor?: Cursor;
  limit: number;
}

/** The audit trail: settled events matching `f`, in commit order, one keyset page. */
export async function listEvents(db: Db, tenantId: string, f: EventFilter): Promise<Event[]> {
  const where = [sql`e.tenant_id = ${tenantId}`, SETTLED];
  if (f.types?.length) where.push(typeMatch(f.types));
  if (f.resourceType) where.push(sql`e.resource_type = ${f.resourceType}`);
  if (f.resourceId) where.push(sql`e.resource_id = ${f.resourceId}`);
  if (f.actorType) where.push(sql`e.actor_type = ${f.actorType}`);
  if (f.actorId) where.push(sql`e.actor_id = ${f.actorId}`);
  if (f.from) where.push(sql`e.occurred_at >= ${f.from}::timestamptz`);
  if (f.to) where.push(sql`e.occurred_at < ${f.to}::timestamptz`);
  if (f.cursor) where.push(after(f.cursor));
  const rows = await query(db, sql`SELECT ${COLUMNS} FROM events e WHERE ${sql.join(where, sql` AND `)} ORDER BY e.transaction_id, e.seq LIMIT ${f.limit}`);
  return rows.map(toEvent);
}

/** Retention: deletes events older than `days`, at most `batch` per call (the cron loops). */
export async function deleteExpired(db: Db, days: number, batch: number): Promise<number> {
  const rows = await query(
    db,
    sql`WITH doomed AS (SELECT id FROM events WHERE occurred_at < now() - make_interval(days => ${days}::int) ORDER BY occurred_at LIMIT ${batch}),
        gone AS (DELETE FROM events WHERE id IN (SELECT id FROM doomed) RETURNING 1)
        SELECT count(*)::int AS deleted FROM gone`,
  );
  return Number(rows[0]?.deleted ?? 0);
}

/**
 * SELECT of the newest settled event's cursor as one text column `cursor` ("0.0" when there is none).
 * Read in the same statement as other data, it shares that statement's snapshot: every change the
 * data shows has its events at or before this cursor, or still settling (and so after it).
 */
export const headCursor = (tenantId: string) =>
  sql`SELECT coalesce((SELECT e.transaction_id::text || '.' || e.seq FROM events e WHERE e.tenant_id = ${tenantId} AND ${SETTLED}
        ORDER BY e.transaction_id DESC, e.seq DESC LIMIT 1), '0.0') AS cursor`;

/** The newest settled event's cursor (START when there is none): where a fresh subscriber begins. */
export async function latestCursor(db: Db, tenantId: string): Promise<Cursor> {
  const rows = await query(db, headCursor(tenantId));
  return parseCursor(String(rows[0]!.cursor))!;
}
