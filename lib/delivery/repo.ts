import { sql, type SQL } from "../../db/sql.js";
import { query } from "../../db/atomic.js";
import type { Db } from "../../db/client.js";
import { fromJson, toIso, toIsoOrNull } from "../../db/values.js";
import { eventsCte, SYSTEM } from "../events/outbox.js";
import { toEvent } from "../events/repo.js";
import { DISABLED_EVENT, OUTCOME_HOOKS, RESOURCE_TYPE } from "./kinds.js";
import { DISABLE_AFTER_MS } from "./schedule.js";

// SQL of the delivery engine. Times come from the caller (`at`), not now(), so the schedule can be
// tested by moving a clock instead of waiting three days.

export interface Claimed {
  id: string;
  tenantId: string;
  endpointId: string;
  kind: string;
  url: string;
  /** Secrets that sign this attempt: the current one, then (during a rotation) the previous one. */
  secrets: string[];
  /** This attempt's number (1-based, over the delivery's whole life). */
  attempt: number;
  /** This attempt's number within the current round (the schedule restarts after a manual retry). */
  attemptInRound: number;
  eventType: string;
  /** The exact request body. */
  body: string;
}

/** How long a claimed delivery is reserved for its sender; after that another sweeper may retry it. */
export const LEASE_MS = 60_000;

/**
 * Claims up to `limit` due deliveries (of one tenant, or all) in one statement: rows locked by another
 * sweeper are skipped (SKIP LOCKED), and a claimed row leaves the due set (status `sending`, due again
 * only when its lease ends) before the lock is released, so no two sweepers get the same attempt.
 */
export async function claimDue(db: Db, at: Date, limit: number, tenantId?: string): Promise<{ claimed: Claimed[]; hasEndpoints: boolean }> {
  const rows = await query(
    db,
    sql`WITH due AS (
          SELECT d.id FROM deliveries d JOIN delivery_endpoints p ON p.id = d.endpoint_id AND p.enabled
          WHERE d.status IN ('pending', 'sending') AND d.next_attempt_at <= ${at.toISOString()}::timestamptz
            ${tenantId ? sql`AND d.tenant_id = ${tenantId}` : sql``}
          ORDER BY d.next_attempt_at LIMIT ${limit}
          FOR UPDATE OF d SKIP LOCKED),
        claimed AS (
          UPDATE deliveries d SET status = 'sending', attempts = d.attempts + 1,
            next_attempt_at = ${at.toISOString()}::timestamptz + make_interval(secs => ${LEASE_MS / 1000}), updated_at = ${at.toISOString()}::timestamptz
          FROM due WHERE d.id = due.id
          RETURNING d.id, d.tenant_id, d.endpoint_id, d.attempts, d.round_start, d.event_type, d.payload, d.event_id)
        , sent AS (SELECT c.id, c.tenant_id, c.endpoint_id, c.attempts, c.round_start, c.event_type, c.payload, c.event_id,
          p.kind, p.url, p.secret,
          CASE WHEN p.previous_secret_until > ${at.toISOString()}::timestamptz THEN p.previous_secret END AS previous_secret,
          e.id AS e_id, e.type AS e_type, e.occurred_at AS e_occurred_at, e.tenant_id AS e_tenant_id, e.actor_type AS e_actor_type, e.actor_id AS e_actor_id,
          e.resource_type AS e_resource_type, e.resource_id AS e_resource_id, e.data AS e_data, e.transaction_id::text AS e_xid, e.seq AS e_seq
        FROM claimed c JOIN delivery_endpoints p ON p.id = c.endpoint_id LEFT JOIN events e ON e.id = c.event_id)
        SELECT s.*, x.has_endpoints
        FROM (SELECT ${tenantId ? sql`EXISTS (SELECT 1 FROM delivery_endpoints p WHERE p.tenant_id = ${tenantId} AND p.enabled)` : sql`true`} AS has_endpoints) x
        LEFT JOIN sent s ON true`,
  );
  const hasEndpoints = rows[0]?.has_endpoints === true;
  const claimed = rows.filter((r) => r.id !== null && r.id !== undefined).map((r) => ({
    id: String(r.id),
    tenantId: String(r.tenant_id),
    endpointId: String(r.endpoint_id),
    kind: String(r.kind),
    url: String(r.url),
    secrets: [String(r.secret), ...(r.previous_secret ? [String(r.previous_secret)] : [])],
    attempt: Number(r.attempts),
    attemptInRound: Number(r.attempts) - Number(r.round_start),
    eventType: String(r.event_type),
    body: r.e_id ? JSON.stringify(toEvent(unprefix(r))) : JSON.stringify(fromJson(r.payload)),
  }));
  return { claimed, hasEndpoints };
}

const unprefix = (row: Record<string, unknown>) => Object.fromEntries(Object.entries(row).filter(([k]) => k.startsWith("e_")).map(([k, v]) => [k.slice(2), v]));

export interface Outcome {
  id: string;
  attempt: number;
  at: Date;
  delivered: boolean;
  status?: number;
  error?: string;
  body?: string;
  /** When to try again; undefined = dead letter (unless delivered). */
  nextAt?: Date;
  /** The receiver answered 410 Gone: disable the endpoint. */
  gone: boolean;
}

export interface Recorded {
  /** Tenants whose endpoints were disabled by these outcomes (they have a new event). */
  disabledTenants: string[];
  /** Tenants with new events from these outcomes (disabled endpoints, a kind's own changes). */
  touchedTenants: string[];
}

/**
 * Records attempt outcomes in one statement: each delivery moves to delivered, back to pending (due
 * at nextAt) or dead; its endpoint's failure run starts, continues or ends; an endpoint answering
 * 410 or failing everything for 5 days is disabled, with its kind's event (webhook.disabled) in the
 * same statement. An outcome whose attempt is no longer the delivery's current one (its lease ran
 * out and another sweeper took over) changes nothing.
 */
export async function recordOutcomes(db: Db, outcomes: Outcome[]): Promise<Recorded> {
  if (outcomes.length === 0) return { disabledTenants: [], touchedTenants: [] };
  const json = JSON.stringify(
    outcomes.map((o) => ({
      id: o.id,
      attempt: o.attempt,
      at: o.at.toISOString(),
      delivered: o.delivered,
      status: o.status ?? null,
      error: o.error ?? null,
      body: o.body ?? null,
      next_at: o.nextAt?.toISOString() ?? null,
      gone: o.gone,
    })),
  );
  const disabledCases = Object.entries(DISABLED_EVENT).map(([kind, type]) => sql`WHEN ${kind} THEN ${type}`);
  const resourceCases = Object.entries(RESOURCE_TYPE).map(([kind, type]) => sql`WHEN ${kind} THEN ${type}`);
  const rows = await query(
    db,
    sql`WITH o AS (
          SELECT * FROM jsonb_to_recordset(${json}::jsonb) AS x(id uuid, attempt int, at timestamptz, delivered boolean, status int, error text, body text, next_at timestamptz, gone boolean)),
        done AS (
          UPDATE deliveries d SET
            status = CASE WHEN o.delivered THEN 'delivered' WHEN o.gone OR o.next_at IS NULL THEN 'dead' ELSE 'pending' END,
            next_attempt_at = CASE WHEN o.delivered OR o.gone OR o.next_at IS NULL THEN o.at ELSE o.next_at END,
            last_attempt_at = o.at, last_status = o.status, last_error = o.error, last_body = o.body,
            delivered_at = CASE WHEN o.delivered THEN o.at ELSE d.delivered_at END, updated_at = o.at
          FROM o WHERE d.id = o.id AND d.status = 'sending' AND d.attempts = o.attempt
          RETURNING d.id, d.tenant_id, d.endpoint_id, d.message_id, d.attempts, o.delivered, (d.status = 'dead') AS dead, o.gone, o.at, o.status, o.error),
        per_endpoint AS (
          SELECT endpoint_id, bool_or(delivered) AS ok, bool_or(gone) AS gone, max(at) AS at FROM done GROUP BY endpoint_id),
        endpoints AS (
          UPDATE delivery_endpoints p SET
            failing_since = CASE WHEN u.ok THEN NULL ELSE coalesce(p.failing_since, u.at) END,
            enabled = p.enabled AND NOT (u.gone OR (NOT u.ok AND coalesce(p.failing_since, u.at) <= u.at - make_interval(secs => ${DISABLE_AFTER_MS / 1000}))),
            disabled_reason = CASE WHEN NOT p.enabled THEN p.disabled_reason WHEN u.gone THEN 'gone'
              WHEN NOT u.ok AND coalesce(p.failing_since, u.at) <= u.at - make_interval(secs => ${DISABLE_AFTER_MS / 1000}) THEN 'failing' END,
            disabled_at = CASE WHEN p.enabled AND (u.gone OR (NOT u.ok AND coalesce(p.failing_since, u.at) <= u.at - make_interval(secs => ${DISABLE_AFTER_MS / 1000}))) THEN u.at ELSE p.disabled_at END,
            version = p.version + CASE WHEN p.enabled AND (u.gone OR (NOT u.ok AND coalesce(p.failing_since, u.at) <= u.at - make_interval(secs => ${DISABLE_AFTER_MS / 1000}))) THEN 1 ELSE 0 END,
            updated_at = u.at
          FROM per_endpoint u WHERE p.id = u.endpoint_id
            -- Only rows whose record changes: a healthy endpoint's row is not locked by every success.
            AND (CASE WHEN u.ok THEN p.failing_since IS NOT NULL
                 ELSE p.failing_since IS NULL OR (p.enabled AND (u.gone OR p.failing_since <= u.at - make_interval(secs => ${DISABLE_AFTER_MS / 1000}))) END)
          RETURNING p.*, (NOT p.enabled AND p.disabled_at = u.at) AS newly_disabled),
        ${eventsCte(
          "disabled_events",
          sql`e.tenant_id`,
          SYSTEM,
          sql`SELECT n.tenant_id, CASE n.kind ${sql.join(disabledCases, sql` `)} END AS type, CASE n.kind ${sql.join(resourceCases, sql` `)} END AS resource_type, n.id AS resource_id,
                jsonb_build_object('endpoint', ${endpointJson("n")}, 'reason', n.disabled_reason) AS data
              FROM endpoints n WHERE n.newly_disabled AND n.kind IN (${sql.join(Object.keys(DISABLED_EVENT).map((k) => sql`${k}`), sql`, `)})`,
        )}
        ${sql.join(OUTCOME_HOOKS.map((h) => sql`, ${h.ctes("done")}`), sql``)}
        SELECT DISTINCT tenant_id, true AS disabled FROM endpoints WHERE newly_disabled
        ${sql.join(OUTCOME_HOOKS.map((h) => sql` UNION ALL SELECT t.tenant_id, false FROM (${h.touched}) t`), sql``)}`,
  );
  const disabledTenants = [...new Set(rows.filter((r) => r.disabled === true).map((r) => String(r.tenant_id)))];
  const touchedTenants = [...new Set(rows.map((r) => String(r.tenant_id)))];
  return { disabledTenants, touchedTenants };
}

/** The switch and failure record every kind's endpoint shows (after its own fields, as endpointJson renders them). */
export interface EndpointState {
  enabled: boolean;
  disabledReason: string | null;
  disabledAt: string | null;
  failingSince: string | null;
  version: number;
  createdAt: string;
  updatedAt: string;
}

/** An endpoint row (alias `p`) as the API renders it (never its secrets). */
export const endpointJson = (p: string) =>
  sql.raw(`jsonb_build_object('id', ${p}.id, 'url', ${p}.url, 'events', to_jsonb(${p}.event_types), 'description', ${p}.description, 'enabled', ${p}.enabled,
    'disabledReason', ${p}.disabled_reason, 'disabledAt', ${p}.disabled_at, 'failingSince', ${p}.failing_since, 'version', ${p}.version,
    'createdAt', ${p}.created_at, 'updatedAt', ${p}.updated_at)
    || CASE WHEN ${p}.kind = 'connector' THEN jsonb_build_object('channel', ${p}.channel) ELSE '{}'::jsonb END`);

/**
 * CTE `name` for a consumer's own write: queues one delivery per row of `rows` (a SELECT yielding
 * `endpoint_id`, `event_type` and `payload` jsonb — the body sent, as is — and, with `withMessage`,
 * `message_id`: the outbound message the delivery carries) for endpoints of `tenantId`, due at once.
 * Yields the new delivery rows.
 */
export function enqueueCte(name: string, tenantId: string, rows: SQL, withMessage = false): SQL {
  return sql`${sql.raw(name)} AS (
      INSERT INTO deliveries (id, tenant_id, endpoint_id, event_type, payload, message_id)
      SELECT gen_random_uuid(), p.tenant_id, p.id, r.event_type, r.payload::jsonb, ${withMessage ? sql`r.message_id` : sql`NULL::uuid`}
      FROM (${rows}) r JOIN delivery_endpoints p ON p.id = r.endpoint_id AND p.tenant_id = ${tenantId}
      RETURNING *)`;
}

export interface DeliveryInfo {
  id: string;
  endpointId: string;
  eventId: string | null;
  eventType: string;
  status: "pending" | "sending" | "delivered" | "dead";
  attempts: number;
  lastAttemptAt: string | null;
  lastResponseStatus: number | null;
  lastResponseBody: string | null;
  lastError: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
  createdAt: string;
}

export const DELIVERY_COLUMNS = sql.raw(
  "d.id, d.endpoint_id, d.event_id, d.event_type, d.status, d.attempts, d.last_attempt_at, d.last_status, d.last_body, d.last_error, d.next_attempt_at, d.delivered_at, d.created_at",
);

export function toDelivery(r: Record<string, unknown>): DeliveryInfo {
  const status = String(r.status) as DeliveryInfo["status"];
  return {
    id: String(r.id),
    endpointId: String(r.endpoint_id),
    eventId: (r.event_id as string | null) ?? null,
    eventType: String(r.event_type),
    status,
    attempts: Number(r.attempts),
    lastAttemptAt: toIsoOrNull(r.last_attempt_at),
    lastResponseStatus: r.last_status === null || r.last_status === undefined ? null : Number(r.last_status),
    lastResponseBody: (r.last_body as string | null) ?? null,
    lastError: (r.last_error as string | null) ?? null,
    nextAttemptAt: status === "pending" || status === "sending" ? toIso(r.next_attempt_at) : null,
    deliveredAt: toIsoOrNull(r.delivered_at),
    createdAt: toIso(r.created_at),
  };
}

/**
 * Makes a delivery of this tenant's endpoint due now, from any state but `sending` (also from the
 * dead letter, also a delivered one: a resend). The schedule starts a new round. Undefined when there
 * is no such delivery; `{ busy: true }` while an attempt is in flight.
 */
export async function requeue(db: Db, tenantId: string, kind: string, endpointId: string, deliveryId: string, at: Date): Promise<DeliveryInfo | { busy: true } | undefined> {
  const rows = await query(
    db,
    sql`WITH target AS (SELECT d.id, d.status FROM deliveries d JOIN delivery_endpoints p ON p.id = d.endpoint_id AND p.kind = ${kind}
          WHERE d.tenant_id = ${tenantId} AND d.endpoint_id = ${endpointId} AND d.id = ${deliveryId} FOR UPDATE OF d),
        moved AS (
          UPDATE deliveries d SET status = 'pending', next_attempt_at = ${at.toISOString()}::timestamptz, round_start = d.attempts, updated_at = ${at.toISOString()}::timestamptz
          FROM target t WHERE d.id = t.id AND t.status <> 'sending'
          RETURNING ${DELIVERY_COLUMNS})
        SELECT m.*, t.status AS old_status FROM target t LEFT JOIN moved m ON true`,
  );
  if (!rows[0]) return undefined;
  if (rows[0].id === null || rows[0].id === undefined) return { busy: true };
  return toDelivery(rows[0]);
}
