import { createHash } from "node:crypto";
import { sql, type SQL } from "../../db/sql.js";
import { query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { ApiError } from "../http/errors.js";

export interface IdempotencyRequest {
  key: string;
  /** What the key protects, e.g. "POST /api/orders"; the same key may be reused in another scope. */
  scope: string;
  hash: string;
}

const KEY = /^[\x21-\x7e]{1,255}$/;

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical((value as Record<string, unknown>)[k])]));
  }
  return value;
}

/** Reads Idempotency-Key; the request hash covers the scope and the parsed body, key order ignored. */
export function idempotencyFrom(request: Request, scope: string, body: unknown): IdempotencyRequest | undefined {
  const key = request.headers.get("idempotency-key");
  if (key === null) return undefined;
  if (!KEY.test(key)) throw new ApiError("bad_request", "Idempotency-Key must be 1-255 visible ASCII characters.", [{ path: "Idempotency-Key", message: "invalid" }]);
  const hash = createHash("sha256").update(scope).update("\n").update(JSON.stringify(canonical(body ?? null))).digest("hex");
  return { key, scope, hash };
}

/**
 * The `go` CTE every idempotent write is gated on: one row when this request should do the work.
 * With a key, the row exists only if the key was new — inserting it is part of the same statement,
 * so concurrent duplicates wait on the unique key and exactly one does the work.
 * `tenantId` may be a SQL expression: public routes learn the tenant inside the statement (from a
 * feedback token); `onlyIf` then keeps the key out when there is no tenant to file it under.
 */
export function gate(tenantId: TenantRef, idem: IdempotencyRequest | undefined, resourceId: string, onlyIf?: SQL): SQL {
  const condition = onlyIf ? sql`WHERE ${onlyIf}` : sql``;
  if (!idem) return sql`go AS (SELECT 1 AS ok ${condition})`;
  return sql`go AS (
    INSERT INTO idempotency_keys (tenant_id, scope, key, request_hash, resource_id)
    SELECT ${tenantId}, ${idem.scope}, ${idem.key}, ${idem.hash}, ${resourceId} ${condition}
    ON CONFLICT DO NOTHING
    RETURNING 1 AS ok)`;
}

/**
 * Columns telling a replay apart: the earlier request's hash and resource, if it was committed, and
 * `render(resourceId)` of that resource, so a replay costs no extra round trip.
 */
export function replayColumns(tenantId: TenantRef, idem: IdempotencyRequest | undefined, render: (resourceId: SQL) => SQL): SQL {
  if (!idem) return sql`NULL::text AS replay_hash, NULL::uuid AS replay_id, NULL::json AS replayed`;
  const earlier = sql`FROM idempotency_keys k WHERE k.tenant_id = ${tenantId} AND k.scope = ${idem.scope} AND k.key = ${idem.key} AND NOT EXISTS (SELECT 1 FROM go)`;
  return sql`(SELECT k.request_hash ${earlier}) AS replay_hash, (SELECT k.resource_id ${earlier}) AS replay_id, (${render(sql`(SELECT k.resource_id ${earlier})`)}) AS replayed`;
}

/** A tenant id, or a SQL expression yielding it inside the statement. */
export type TenantRef = string | SQL;

export type Replay = { fresh: true } | { fresh: false; resourceId: string } | { fresh: false; inFlight: true };

/**
 * What a gated statement's result means for the request. A key whose first use committed while this
 * statement ran is invisible to its snapshot (`inFlight`): the caller looks it up again.
 */
export function replayOutcome(row: Record<string, unknown>, idem: IdempotencyRequest | undefined): Replay {
  if (row.fresh === true || row.fresh === "t" || !idem) return { fresh: true };
  if (row.replay_hash === null || row.replay_hash === undefined) return { fresh: false, inFlight: true };
  if (row.replay_hash !== idem.hash) throw mismatch();
  return { fresh: false, resourceId: String(row.replay_id) };
}

const mismatch = () =>
  new ApiError("idempotency_mismatch", "This Idempotency-Key was used with a different request.", [{ path: "Idempotency-Key", message: "reused with a different body" }]);

async function findReplay(db: Db, tenantId: TenantRef, idem: IdempotencyRequest): Promise<string | undefined> {
  const rows = await query(db, sql`SELECT request_hash, resource_id FROM idempotency_keys WHERE tenant_id = ${tenantId} AND scope = ${idem.scope} AND key = ${idem.key}`);
  const row = rows[0];
  if (!row) return undefined;
  if (row.request_hash !== idem.hash) throw mismatch();
  return String(row.resource_id);
}

/**
 * What a gated write answers when it turned out to be a replay: the resource the earlier request
 * made — as the statement rendered it, or, when that request committed while this one ran (so this
 * statement's snapshot could not see it), looked up again with `load`. Undefined when this request
 * did the work itself.
 */
export async function earlierResult<T>(
  db: Db,
  row: Record<string, unknown>,
  idem: IdempotencyRequest | undefined,
  tenantId: TenantRef,
  rendered: T | undefined,
  load: (resourceId: string) => Promise<T | undefined>,
): Promise<T | undefined> {
  const outcome = replayOutcome(row, idem);
  if (outcome.fresh) return undefined;
  if (rendered) return rendered;
  const resourceId = "resourceId" in outcome ? outcome.resourceId : await findReplay(db, tenantId, idem!);
  const earlier = resourceId ? await load(resourceId) : undefined;
  if (!earlier) throw new ApiError("conflict", "A request with this Idempotency-Key is still in progress; retry shortly.", undefined, { "Retry-After": "1" });
  return earlier;
}
