import { createHash } from "node:crypto";
import { sql, type SQL } from "../../db/sql.js";
import { query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { ApiError } from "../http/errors.js";

// Idempotency-Key, the rules (README "Idempotency"):
// - A key belongs to (tenant, principal, route): another user, API key or feedback link using the
//   same key executes on its own.
// - Only a success is stored. The key row is inserted first in the statement (so concurrent
//   duplicates wait on its unique index and exactly one executes), and every way the work can fail
//   after that RAISES (tally_fail), rolling back the key with everything else. gatedStatement() is
//   the only way to write a gated statement, and it adds that guard itself.

export interface IdempotencyRequest {
  key: string;
  /** The route as called, e.g. "POST /api/orders/<id>/cancel": the same key may be used on another. */
  scope: string;
  /** Who sends it: "user:<id>" (later "apikey:<id>"); on public routes set by the service (bindPrincipal). */
  principal?: string;
  /** SHA-256 of the scope and the parsed body (key order ignored). */
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

/**
 * Reads Idempotency-Key for a route that declares `idempotent: true` (lib/http/route.ts calls this;
 * nothing else reads the header). `scope` is "METHOD /concrete/path".
 */
export function idempotencyFrom(request: Request, scope: string, body: unknown, principal: string | undefined): IdempotencyRequest | undefined {
  const key = request.headers.get("idempotency-key");
  if (key === null) return undefined;
  if (!KEY.test(key)) throw new ApiError("bad_request", "Idempotency-Key must be 1-255 visible ASCII characters.", [{ path: "Idempotency-Key", message: "invalid" }]);
  const hash = createHash("sha256").update(scope).update("\n").update(JSON.stringify(canonical(body ?? null))).digest("hex");
  return { key, scope, hash, principal };
}

/** The principal of a signed-in request. */
export const principalOf = (auth: { userId: string; apiKeyId?: string }) => (auth.apiKeyId ? `apikey:${auth.apiKeyId}` : `user:${auth.userId}`);

/** Public routes learn who is asking from the body (a feedback link): bind it before the write. */
export function bindPrincipal(idem: IdempotencyRequest | undefined, principal: string): IdempotencyRequest | undefined {
  return idem && { ...idem, principal };
}

function principal(idem: IdempotencyRequest): string {
  if (!idem.principal) throw new Error(`Idempotency-Key on ${idem.scope} has no principal; bind one first`);
  return idem.principal;
}

/** A tenant id, or a SQL expression yielding it inside the statement. */
export type TenantRef = string | SQL;

const keyRow = (tenantId: TenantRef, idem: IdempotencyRequest) =>
  sql`k.tenant_id = ${tenantId} AND k.principal = ${principal(idem)} AND k.scope = ${idem.scope} AND k.key = ${idem.key}`;

/** Rule code raised when a gated write did not happen; its JSON detail is the write's `refusal`. */
export const REFUSED = "refused";

export interface GatedWrite {
  tenantId: TenantRef;
  idem: IdempotencyRequest | undefined;
  /** What a replay renders: the id this request creates, or of the resource it acts on. */
  resourceId: string;
  /** CTEs before the gate (read-only; e.g. the feedback token that names the tenant). */
  before?: SQL;
  /** Only open the gate if this holds (public routes: there is a tenant to file the key under). */
  onlyIf?: SQL;
  /** The work: CTEs that act only when `go` has a row. */
  work: SQL;
  /** Domain failures checked first: `WHEN … THEN tally_fail(…)` clauses. */
  failures?: SQL;
  /** True when the work happened. */
  succeeded: SQL;
  /** jsonb: why the work did not happen (current status, version, stock…), for the caller's 404/409/412. */
  refusal: SQL;
  /** More result columns. */
  columns: SQL;
  /** The earlier result, from its resource id, so a replay costs no extra round trip. */
  render: (resourceId: SQL) => SQL;
  /**
   * The key may hold a recorded failure (see failedOutcome): a request with the same key and ANOTHER
   * body takes the key over and executes; the same body replays the failure. Concurrent duplicates
   * still wait on the key row and execute once.
   */
  retakeFailed?: true;
}

/** request_hash of a key whose write failed but left a record (a declined checkout's cancelled order). */
export const FAILED_PREFIX = "failed:";

/**
 * The one way to write a statement gated on an Idempotency-Key (with no key the gate is always
 * open). Result columns: `fresh` (this request did the work), `replay_hash`, `replay_id`, `replayed`
 * (see earlierResult) and the write's own `columns`. If the gate opened but `succeeded` is false the
 * statement raises tally_fail('refused', refusal): nothing is kept, the key least of all, so the
 * same key may be retried; the caller maps the refusal to its 4xx (see refusalOf).
 */
export function gatedStatement(w: GatedWrite): SQL {
  const condition = w.onlyIf ? sql`WHERE ${w.onlyIf}` : sql``;
  const go = w.idem
    ? sql`go AS (
      INSERT INTO idempotency_keys (tenant_id, principal, scope, key, request_hash, resource_id)
      SELECT ${w.tenantId}, ${principal(w.idem)}, ${w.idem.scope}, ${w.idem.key}, ${w.idem.hash}, ${w.resourceId} ${condition}
      ${
        w.retakeFailed
          ? sql`ON CONFLICT (tenant_id, principal, scope, key) DO UPDATE SET request_hash = EXCLUDED.request_hash, resource_id = EXCLUDED.resource_id, created_at = now()
        WHERE idempotency_keys.request_hash LIKE ${`${FAILED_PREFIX}%`} AND idempotency_keys.request_hash <> ${FAILED_PREFIX} || EXCLUDED.request_hash`
          : sql`ON CONFLICT DO NOTHING`
      }
      RETURNING 1 AS ok)`
    : sql`go AS (SELECT 1 AS ok ${condition})`;
  return sql`
    WITH ${w.before ? sql`${w.before},` : sql``}
    ${go},
    ${w.work}
    SELECT
      CASE ${w.failures ?? sql``} WHEN EXISTS (SELECT 1 FROM go) AND NOT (${w.succeeded}) THEN tally_fail(${REFUSED}, ${w.refusal}) END AS failed,
      EXISTS (SELECT 1 FROM go) AS fresh,
      ${w.columns},
      ${replayColumns(w.tenantId, w.idem, w.render)}`;
}

function replayColumns(tenantId: TenantRef, idem: IdempotencyRequest | undefined, render: (resourceId: SQL) => SQL): SQL {
  if (!idem) return sql`NULL::text AS replay_hash, NULL::uuid AS replay_id, NULL::json AS replayed`;
  const earlier = sql`FROM idempotency_keys k WHERE ${keyRow(tenantId, idem)} AND NOT EXISTS (SELECT 1 FROM go)`;
  return sql`(SELECT k.request_hash ${earlier}) AS replay_hash, (SELECT k.resource_id ${earlier}) AS replay_id, (${render(sql`(SELECT k.resource_id ${earlier})`)}) AS replayed`;
}

/**
 * CTE `name` (for a later statement of the same batch as a gated write): records that the write
 * with this key, which made `resourceId`, failed — the key then replays that failure to the same
 * request and may be taken over by another one (GatedWrite.retakeFailed). Used where a failure must
 * leave a record (a declined card's cancelled order), so concurrent retries cannot each make one.
 */
export function failedOutcome(name: string, tenantId: TenantRef, idem: IdempotencyRequest | undefined, resourceId: string): SQL {
  if (!idem) return sql`${sql.raw(name)} AS (SELECT 1 WHERE false)`;
  return sql`${sql.raw(name)} AS (
    UPDATE idempotency_keys k SET request_hash = ${FAILED_PREFIX} || k.request_hash
    WHERE ${keyRow(tenantId, idem)} AND k.request_hash = ${idem.hash} AND k.resource_id = ${resourceId}
    RETURNING 1)`;
}

/** The JSON detail of a refused gated write, or undefined if `failure` is something else. */
export function refusalOf(failure: { kind: string; rule?: { code: string; detail: unknown } } | undefined): Record<string, unknown> | undefined {
  if (failure?.kind !== "rule_failed" || failure.rule?.code !== REFUSED) return undefined;
  return (failure.rule.detail ?? {}) as Record<string, unknown>;
}

export type Replay = { fresh: true } | { fresh: false; resourceId: string; failed: boolean } | { fresh: false; inFlight: true };

/** Whether a stored hash is this request's: its success, or its recorded failure (failed: true). */
function matchHash(stored: string, idem: IdempotencyRequest): { failed: boolean } {
  if (stored === idem.hash) return { failed: false };
  if (stored === `${FAILED_PREFIX}${idem.hash}`) return { failed: true };
  throw mismatch();
}

/**
 * What a gated statement's result means for the request. A key whose first use committed while this
 * statement ran is invisible to its snapshot (`inFlight`): the caller looks it up again.
 */
export function replayOutcome(row: Record<string, unknown>, idem: IdempotencyRequest | undefined): Replay {
  if (row.fresh === true || row.fresh === "t" || !idem) return { fresh: true };
  if (row.replay_hash === null || row.replay_hash === undefined) return { fresh: false, inFlight: true };
  return { fresh: false, resourceId: String(row.replay_id), ...matchHash(String(row.replay_hash), idem) };
}

const mismatch = () =>
  new ApiError("idempotency_mismatch", "This Idempotency-Key was used with a different request.", [{ path: "Idempotency-Key", message: "reused with a different request" }]);

async function findReplay(db: Db, tenantId: TenantRef, idem: IdempotencyRequest): Promise<{ resourceId: string; failed: boolean } | undefined> {
  const rows = await query(db, sql`SELECT k.request_hash, k.resource_id FROM idempotency_keys k WHERE ${keyRow(tenantId, idem)}`);
  const row = rows[0];
  if (!row) return undefined;
  return { resourceId: String(row.resource_id), ...matchHash(String(row.request_hash), idem) };
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
  return (await earlierOutcome(db, row, idem, tenantId, rendered, load))?.value;
}

/** earlierResult, also telling whether the earlier request's recorded outcome was a failure (failedOutcome). */
export async function earlierOutcome<T>(
  db: Db,
  row: Record<string, unknown>,
  idem: IdempotencyRequest | undefined,
  tenantId: TenantRef,
  rendered: T | undefined,
  load: (resourceId: string) => Promise<T | undefined>,
): Promise<{ value: T; failed: boolean } | undefined> {
  const outcome = replayOutcome(row, idem);
  if (outcome.fresh) return undefined;
  if (rendered && "resourceId" in outcome) return { value: rendered, failed: outcome.failed };
  const found = "resourceId" in outcome ? outcome : await findReplay(db, tenantId, idem!);
  const earlier = found ? await load(found.resourceId) : undefined;
  if (!earlier) throw new ApiError("conflict", "A request with this Idempotency-Key is still in progress; retry shortly.", undefined, { "Retry-After": "1" });
  return { value: earlier, failed: found!.failed };
}

/** For routes where the key is mandatory (the storefront's checkout): 400 without one. */
export function requireIdempotency(idem: IdempotencyRequest | undefined, what: string): IdempotencyRequest {
  if (!idem) throw new ApiError("bad_request", `${what} needs an Idempotency-Key header.`, [{ path: "Idempotency-Key", message: "required" }]);
  return idem;
}
